# canaryflow — the two commands in README.md are `make demo` and `make test`.
GO ?= go

.PHONY: all build demo test fuzz vet

all: build

build:
	$(GO) build -o bin/canaryflow ./cmd/canaryflow

# The main job. Today: the Gitflow + SemVer release walkthrough against a
# throwaway repository with a bare origin (the full tag → canary demo is
# issue 6 and not built yet).
demo: build
	./examples/walkthrough.sh bin/canaryflow

# Every test: vet, then the whole suite (unit, testscript, docker, moto).
test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

# Short fuzzing of every parser (not part of `make test`).
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParseVersion -fuzztime 30s ./internal/flow
	$(GO) test -run '^$$' -fuzz FuzzJSONVersionSpan -fuzztime 30s ./internal/flow
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./internal/config
