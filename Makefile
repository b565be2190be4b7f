# sskit — Stableset Conformance Kit. `make help` lists the targets.
GO          ?= go
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT      ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS     := -s -w -X main.version=$(VERSION)
SSKIT_FLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
BENCH_COUNT ?= 6
BENCH       ?= .
FUZZTIME    ?= 60s

IMAGE       ?= sskit-refnode:local

BASELINE    ?= results/baseline/bench.txt
GATE_UNITS  ?= sskit/rawquic,allocs/op
THRESHOLD   ?= 0.15

.PHONY: help build image conformance certify mutation test bench bench-quick bench-check bench-baseline fuzz lint

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build bin/refnode (static, CGO_ENABLED=0) and bin/sskit
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/refnode ./refnode/cmd/refnode
	$(GO) build -trimpath -ldflags '$(SSKIT_FLAGS)' -o bin/sskit ./cmd/sskit

image: build ## build refnode's container image IMAGE (default sskit-refnode:local) FROM scratch
	@ctx=$$(mktemp -d) && cp bin/refnode refnode/Dockerfile $$ctx/ && \
	  if docker build -q -t $(IMAGE) $$ctx >$$ctx/out 2>&1; then echo "built $(IMAGE)"; rm -rf $$ctx; \
	  else cat $$ctx/out; rm -rf $$ctx; exit 1; fi

conformance: build ## check refnode, or NODE_CMD=... / NODE_IMAGE=... (BACKEND, TAGS, SEED, KNOWN_FAILURES), write reports
	bin/sskit conformance

certify: build ## run the whole suite RUNS times (default 3) on NODE_CMD / NODE_IMAGE / refnode; write a certificate
	bin/sskit certify $(if $(RUNS),--runs $(RUNS))

mutation: build ## run the suite against every refnode mutant; fails if one survives
	CGO_ENABLED=0 $(GO) build -trimpath -tags mutants -o bin/refnode-mutants ./refnode/cmd/refnode
	bin/sskit mutation --binary bin/refnode-mutants

test: lint ## the whole test suite: -race; allocation tests without it; the mutants build's own tests
	$(GO) test -race -count=1 ./...
	$(GO) test -count=1 -run 'Alloc' ./refnode/... ./bench/...
	$(GO) vet -tags mutants ./refnode/...
	$(GO) test -count=1 -tags mutants ./refnode/mutant/ ./refnode/cmd/refnode/

bench: ## run benchmarks with -benchmem, BENCH_COUNT times each (benchstat-readable)
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -count $(BENCH_COUNT) ./refnode/... ./bench/...

bench-quick: # the gate's subset: same-run ratio of our witness round trip to raw quic-go's, codec allocations
	@$(GO) test -run '^$$' -bench 'WitnessRatio' -benchtime 3000x -count 10 ./bench/
	@$(GO) test -run '^$$' -bench 'Encode|Decode' -benchtime 20000x -benchmem -count 6 ./refnode/wire/

bench-check: build ## quick benchmarks (about a minute) against BASELINE; fails on a significant regression beyond THRESHOLD
	$(MAKE) -s bench-quick > results/bench-check.txt
	bin/sskit bench compare --units '$(GATE_UNITS)' --threshold $(THRESHOLD) $(BASELINE) results/bench-check.txt

bench-baseline: ## measure the gate's subset again into BASELINE (do it on a quiet machine, then commit)
	@mkdir -p $(dir $(BASELINE))
	$(MAKE) -s bench-quick > $(BASELINE)
	@{ echo "# Machine of $(BASELINE)"; echo; echo "- measured: $$(date -u +%Y-%m-%dT%H:%MZ) at commit $$(git rev-parse --short HEAD)"; \
	  echo "- cpu: $$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $$(nproc) cores"; \
	  echo "- memory: $$(free -g | awk '/Mem:/{print $$2}') GiB"; echo "- kernel: $$(uname -r)"; echo "- go: $$(go version | cut -d' ' -f3-)"; \
	  echo "- command: make bench-baseline"; } > $(dir $(BASELINE))MACHINE.md
	@echo "wrote $(BASELINE) and $(dir $(BASELINE))MACHINE.md"

fuzz: ## fuzz the frame decoder for FUZZTIME (default 60s)
	$(GO) test ./refnode/wire -run '^$$' -fuzz FuzzDecodeFrame -fuzztime $(FUZZTIME)

lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
