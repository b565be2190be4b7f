# sskit — Stableset Conformance Kit. `make help` lists the targets.
GO          ?= go
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -s -w -X main.version=$(VERSION)
BENCH_COUNT ?= 6
BENCH       ?= .
FUZZTIME    ?= 60s

.PHONY: help build conformance test bench fuzz lint

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build bin/refnode (static, CGO_ENABLED=0) and bin/sskit
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/refnode ./refnode/cmd/refnode
	$(GO) build -trimpath -o bin/sskit ./cmd/sskit

conformance: build ## certify refnode, or NODE_CMD=... / NODE_IMAGE=..., (BACKEND, TAGS, SEED) and write reports
	bin/sskit conformance

test: lint ## run the whole test suite (race detector on; allocation tests once more without it)
	$(GO) test -race -count=1 ./...
	$(GO) test -count=1 -run 'Alloc' ./refnode/... ./bench/...

bench: ## run benchmarks with -benchmem, BENCH_COUNT times each (benchstat-readable)
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -count $(BENCH_COUNT) ./refnode/... ./bench/...

fuzz: ## fuzz the frame decoder for FUZZTIME (default 60s)
	$(GO) test ./refnode/wire -run '^$$' -fuzz FuzzDecodeFrame -fuzztime $(FUZZTIME)

lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
