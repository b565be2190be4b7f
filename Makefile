# sskit — Stableset Conformance Kit. `make help` lists the targets.
GO          ?= go
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT      ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS     := -s -w -X main.version=$(VERSION)
SSKIT_FLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
BENCH_COUNT ?= 6
BENCH       ?= .
FUZZTIME    ?= 60s
# make test counts executions instead of timing them: a duration's end can race the fuzz
# coordinator and fail a target that found nothing (go.dev/issue/75804, fixed only in Go 1.27).
TEST_FUZZTIME ?= 150000x

IMAGE       ?= sskit-refnode:local

# Cluster benchmarks (bench/cluster) and their report (make bench-report).
BENCH_NODES     ?= 4,8,16,32,64
BENCH_SAMPLES   ?= 100
BENCH_JOINERS   ?= 8
CLUSTER_COUNT   ?= 1
RAFT_COUNT      ?= 6
RAFT_VOTERS     ?= 4,16
GOSSIP_RUNS     ?= 20
MEMBERLIST_RUNS ?= 20
CLUSTER_FLAGS    = -cluster.nodes=$(BENCH_NODES) -cluster.samples=$(BENCH_SAMPLES) -cluster.joiners=$(BENCH_JOINERS) \
                   -cluster.gossip-runs=$(GOSSIP_RUNS) \
                   $(if $(BACKEND),-cluster.backend=$(BACKEND)) $(if $(BENCH_OUT),-cluster.out=$(BENCH_OUT))

BASELINE    ?= results/baseline/bench.txt
GATE_UNITS  ?= sskit/rawquic,allocs/op
THRESHOLD   ?= 0.15

.PHONY: help build image conformance certify flood mutation mutation-sample test flakes bench bench-quick bench-check bench-baseline bench-cluster bench-report fuzz lint

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-15s %s\n", $$1, $$2}'

build: ## build bin/refnode (static, CGO_ENABLED=0) and bin/sskit
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/refnode ./refnode/cmd/refnode
	$(GO) build -trimpath -ldflags '$(SSKIT_FLAGS)' -o bin/sskit ./cmd/sskit

image: build ## build refnode's container image IMAGE (default sskit-refnode:local) FROM scratch
	@ctx=$$(mktemp -d) && cp bin/refnode refnode/Dockerfile $$ctx/ && \
	  if docker build -q -t $(IMAGE) $$ctx >$$ctx/out 2>&1; then echo "built $(IMAGE)"; rm -rf $$ctx; \
	  else cat $$ctx/out; rm -rf $$ctx; exit 1; fi

conformance: build ## check refnode, or NODE_CMD=... / NODE_IMAGE=... (BACKEND, TAGS, SEED, KNOWN_FAILURES), write reports
	bin/sskit conformance

certify: build ## run the whole suite RUNS times (default 3) on NODE_CMD / NODE_IMAGE / refnode; write a certificate (CERT_DIR, FORCE=1)
	bin/sskit certify $(if $(RUNS),--runs $(RUNS)) $(if $(FORCE),--force)

flood: FLOOD_SECONDS ?= 60
flood: build ## one member floods the node under test for FLOOD_SECONDS (default 60) while every node's memory and PING latency are watched (ST-14; refnode, or NODE_CMD / NODE_IMAGE); figures in the run's logs/*/flood.md
	SSKIT_FLOOD_SECONDS=$(FLOOD_SECONDS) bin/sskit conformance --tags '@alone' --results results/flood

mutation: build ## run the suite against every refnode mutant; fails if one survives
	CGO_ENABLED=0 $(GO) build -trimpath -tags mutants -o bin/refnode-mutants ./refnode/cmd/refnode
	bin/sskit mutation --binary bin/refnode-mutants

mutation-sample: N ?= 60
mutation-sample: SEED ?= 1
mutation-sample: build ## run the suite against N (default 60) machine-made mutants of refnode's consensus code sampled with SEED (default 1); writes results/mutation/sample-seed-$(SEED).md; PACKAGES=refnode/gossip samples the gossip code instead (sample-gossip-seed-$(SEED).md)
ifeq ($(PACKAGES),)
	bin/sskit mutation --generated $(N) --seed $(SEED) --out results/mutation/sample-seed-$(SEED).md
else
	bin/sskit mutation --generated $(N) --seed $(SEED) --packages $(PACKAGES) --out results/mutation/sample-$(subst /,-,$(subst refnode/,,$(PACKAGES)))-seed-$(SEED).md
endif

# make test builds refnode images under its own repository name and removes them at the end, and
# writes reports only to temporary directories: it leaves nothing behind.
TEST_IMAGE_REPO := sskit-refnode-test
TEST_TIMEOUT    ?= 20m
FLAKE_RUNS      ?= 9

# The comparators live in modules of their own, which ./... does not reach.
SIDE_MODULES = bench/raftcmp bench/memberlistcmp

test: lint ## the whole test suite: -race; allocation tests without it; the mutants build's own tests; every fuzz target for TEST_FUZZTIME (150000 inputs)
	@status=0; SSKIT_IMAGE_REPO=$(TEST_IMAGE_REPO) $(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./... || status=$$?; \
	  if command -v docker >/dev/null 2>&1; then docker image ls -q $(TEST_IMAGE_REPO) 2>/dev/null | sort -u | xargs -r docker image rm -f >/dev/null 2>&1 || true; fi; \
	  exit $$status
	$(GO) test -count=1 -run 'Alloc' ./refnode/... ./bench/...
	$(GO) vet -tags mutants ./refnode/...
	$(GO) test -count=1 -tags mutants ./refnode/mutant/ ./refnode/cmd/refnode/
	for m in $(SIDE_MODULES); do (cd $$m && $(GO) test -count=1 ./...) || exit 1; done
	$(MAKE) -s fuzz FUZZTIME=$(TEST_FUZZTIME)

flakes: ## the conformance suite on refnode 1 + FLAKE_RUNS times (default 10 in all), every scenario, each in another order
	SSKIT_IMAGE_REPO=$(TEST_IMAGE_REPO) FLAKE_RUNS=$(FLAKE_RUNS) $(GO) test -count=1 -timeout 60m -run 'TestConformance$$|TestNoFlakes' ./conformance/


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

bench-cluster: ## refnode clusters of BENCH_NODES: decision latency, frames per decision, concurrent joins, anti-entropy, gossip convergence (BENCH_SAMPLES, BENCH_JOINERS, GOSSIP_RUNS, BACKEND)
	$(GO) test -run '^$$' -bench 'Cluster' -benchtime 1x -count $(CLUSTER_COUNT) -timeout 60m ./bench/cluster/ -args $(CLUSTER_FLAGS)

bench-report: build ## bench-cluster and the hashicorp/raft (over TCP and over QUIC) and hashicorp/memberlist (MEMBERLIST_RUNS) comparisons into results/bench/<UTC time>/ with report.md, report.html and figures
	@run=results/bench/$$(date -u +%Y-%m-%dT%H%MZ) && { test ! -e $$run || { echo "bench-report: $$run exists; start again in a minute"; exit 1; }; } && \
	mkdir -p $$run && echo "bench-report: writing $$run" && \
	{ echo "# Machine of this run"; echo; echo "- measured: $$(date -u +%Y-%m-%dT%H:%MZ) at commit $$(git describe --always --dirty 2>/dev/null || echo unknown)"; \
	  echo "- cpu: $$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $$(nproc) cores"; \
	  echo "- memory: $$(free -g | awk '/Mem:/{print $$2}') GiB"; echo "- kernel: $$(uname -r)"; echo "- go: $$(go version | cut -d' ' -f3-)"; \
	  echo "- load average at the start: $$(cut -d' ' -f1-3 /proc/loadavg)"; \
	  echo "- command: make bench-report BENCH_NODES=$(BENCH_NODES) BENCH_SAMPLES=$(BENCH_SAMPLES) BENCH_JOINERS=$(BENCH_JOINERS) CLUSTER_COUNT=$(CLUSTER_COUNT) GOSSIP_RUNS=$(GOSSIP_RUNS) RAFT_COUNT=$(RAFT_COUNT) RAFT_VOTERS=$(RAFT_VOTERS) MEMBERLIST_RUNS=$(MEMBERLIST_RUNS)$(if $(BACKEND), BACKEND=$(BACKEND))"; \
	} > $$run/MACHINE.md && \
	$(GO) test -c -o bin/cluster-bench.test ./bench/cluster/ && \
	{ bin/cluster-bench.test -test.run '^$$' -test.bench Cluster -test.benchtime 1x -test.count $(CLUSTER_COUNT) -test.timeout 60m \
	    $(CLUSTER_FLAGS) -cluster.out=$$run > $$run/cluster.txt || { tail -n 30 $$run/cluster.txt; exit 1; }; } && \
	echo "bench-report: hashicorp/raft AddVoter (bench/raftcmp) to $(RAFT_VOTERS) voters, $(RAFT_COUNT) runs" && \
	{ (cd bench/raftcmp && $(GO) test -run '^$$' -bench . -benchmem -count $(RAFT_COUNT) -args -raft.voters=$(RAFT_VOTERS)) > $$run/raft.txt || { tail -n 30 $$run/raft.txt; exit 1; }; } && \
	echo "bench-report: the same over QUIC, refnode's transport (-raft.transport=quic)" && \
	{ (cd bench/raftcmp && $(GO) test -run '^$$' -bench . -benchmem -count $(RAFT_COUNT) -args -raft.voters=$(RAFT_VOTERS) -raft.transport=quic) > $$run/raft-quic.txt || { tail -n 30 $$run/raft-quic.txt; exit 1; }; } && \
	echo "bench-report: hashicorp/memberlist join convergence (bench/memberlistcmp), $(MEMBERLIST_RUNS) runs per size" && \
	{ (cd bench/memberlistcmp && $(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m \
	    -args -memberlist.nodes=$(BENCH_NODES) -memberlist.runs=$(MEMBERLIST_RUNS)) > $$run/memberlist.txt || { tail -n 30 $$run/memberlist.txt; exit 1; }; } && \
	bin/sskit bench report $$run && ln -sfn $$(basename $$run) results/bench/latest && \
	echo "bench-report: open $$run/report.html (or report.md); results/bench/latest points at it"

# Every decoder that reads what another node sent: refnode's (frames, section lists, elder losses,
# records, gossip bodies) and the harness's own gossip parser, which reads a node under test's.
FUZZ_TARGETS = ./refnode/wire:FuzzDecodeFrame ./refnode/wire:FuzzSectionList ./refnode/wire:FuzzElderLoss \
	./refnode/record:FuzzDecode ./refnode/gossip:FuzzDecodeGossip ./harness/peer:FuzzParseGossip

fuzz: ## fuzz every decoder of what another node sends (FUZZ_TARGETS) for FUZZTIME each (default 60s, or a count such as 1000000x); make test runs 150000 inputs each
	@for t in $(FUZZ_TARGETS); do \
	  echo "fuzz $${t#*:} ($${t%%:*}) for $(FUZZTIME)"; \
	  $(GO) test $${t%%:*} -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) || exit 1; \
	done

lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
