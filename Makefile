# canaryflow — the two commands in README.md are `make demo` and `make test`.
GO ?= go

.PHONY: all build demo walkthrough test fuzz vet

all: build

# canaryflow-proxy beside canaryflow: `canaryflow proxy` execs it (half the memory).
build:
	$(GO) build -o bin/ ./cmd/canaryflow ./cmd/canaryflow-proxy

# The main job: the whole release process on this machine (canaryflow demo).
demo: build
	./bin/canaryflow demo

# The Gitflow + SemVer commands alone, against a throwaway repository.
walkthrough: build
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
