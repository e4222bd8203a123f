# canaryflow — the two commands in README.md are `make demo` and `make test`.
GO ?= go

.PHONY: all build demo walkthrough test fuzz vet

all: build

# canaryflow's own version (`canaryflow --version`): the nearest v* tag, and
# the commit for builds where Go records none.
CLI := github.com/canaryflow/canaryflow/internal/cli
TOOL_VERSION ?= $(shell git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null | sed 's/^v//' || echo dev)
TOOL_COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -X $(CLI).Version=$(or $(TOOL_VERSION),dev) -X $(CLI).Commit=$(TOOL_COMMIT)

# canaryflow-proxy beside canaryflow: `canaryflow proxy` execs it (half the
# memory). It is built static, without cgo: no C library is mapped into the
# long-lived router (1.7 MB less resident), and it runs in a scratch image.
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/ ./cmd/canaryflow
	CGO_ENABLED=0 $(GO) build -o bin/ ./cmd/canaryflow-proxy

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

# Short fuzzing of every parser (not part of `make test`): each Fuzz target
# in the module for FUZZTIME (37 targets; about 19 minutes at 30s).
FUZZTIME ?= 30s
fuzz:
	@for file in $$(grep -rl --include='*_test.go' '^func Fuzz' .); do \
		dir=$$(dirname $$file); \
		for fn in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$file); do \
			echo "== $$dir $$fn"; \
			$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$dir || exit 1; \
		done; \
	done
