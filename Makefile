# streamstrap — build, package, test.
#
# Every artifact is reproducible: the version, commit and date stamped into
# the binary come from git (the date is the commit's date, never the wall
# clock), paths are trimmed, cgo and VCS stamping are off, and the zips are
# written by internal/release/cmd/mkzip with fixed mtimes and sorted entries.
# Override any variable on the command line, e.g. `make layer DIST=/tmp/out`.

SHELL       := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

GO      ?= go
DIST    ?= dist
PKG     ?= ./cmd/bootstrap
ARCHES  ?= amd64 arm64

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
DATE    ?= $(shell git log -1 --format=%cI 2>/dev/null || echo 1980-01-01T00:00:00Z)

LDFLAGS    := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
BUILDFLAGS := -trimpath -buildvcs=false -ldflags "$(LDFLAGS)"
GOBUILD    := CGO_ENABLED=0 $(GO) build $(BUILDFLAGS)
# The artifacts Lambda runs (dist/linux-*/bootstrap, the zips, the image) are
# built with this tag, which leaves out the local-development commands
# (`local`); dist/bootstrap, for this host, keeps everything.
LAMBDA_TAGS := -tags lambda
# The Lambda build's Go runtime keeps its sysmon thread from parking
# (GODEBUG schedtrace, compiled in as the binary's default): parked, sysmon
# is woken by an invocation's first system calls and then polls every 20 µs
# while the bootstrap works, a context switch each time; never parked, it
# backs off to 10 ms. A third less CPU per invocation and a third of the
# context switches (BENCHMARKS.md, "sysmon"). The period is the largest an
# int32 of ms holds (24.8 days): the trace line itself is printed only once
# the system's monotonic clock passes it. GODEBUG=schedtrace=0 in the
# function's environment restores Go's default.
LAMBDA_GODEBUG := schedtrace=2147483647
LAMBDA_LDFLAGS := $(LDFLAGS) -X runtime.godebugDefault=$(LAMBDA_GODEBUG)
GOBUILD_LAMBDA := CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=false -ldflags "$(LAMBDA_LDFLAGS)" $(LAMBDA_TAGS)
MKZIP      := $(GO) run -trimpath ./internal/release/cmd/mkzip -mtime $(DATE)

BINARIES  := $(foreach a,$(ARCHES),$(DIST)/linux-$(a)/bootstrap)
ZIPS      := $(foreach a,$(ARCHES),$(DIST)/streamstrap-layer-$(a).zip $(DIST)/streamstrap-function-$(a).zip)
# Paths relative to $(DIST) that `make reproducible` compares.
ARTIFACTS := bootstrap $(foreach a,$(ARCHES),linux-$(a)/bootstrap streamstrap-layer-$(a).zip streamstrap-function-$(a).zip)

IMAGE ?= streamstrap:latest

.PHONY: all build layer test soak fuzz run bench reproducible clean image print-ldflags print-lambda-ldflags print-version FORCE

all: build layer

## build: static linux/amd64 + linux/arm64 binaries for Lambda (-tags lambda), and dist/bootstrap
## for this host with the development commands
build: $(BINARIES) $(DIST)/bootstrap

$(DIST)/linux-%/bootstrap: FORCE
	GOOS=linux GOARCH=$* $(GOBUILD_LAMBDA) -o $@ $(PKG)

$(DIST)/bootstrap: FORCE
	$(GOBUILD) -o $@ $(PKG)

## layer: Lambda layer zips (bootstrap -> /opt/bootstrap) and provided.al2023 function zips
layer: $(ZIPS)

$(DIST)/streamstrap-layer-%.zip: $(DIST)/linux-%/bootstrap
	$(MKZIP) -o $@ bootstrap=$<

$(DIST)/streamstrap-function-%.zip: $(DIST)/linux-%/bootstrap
	$(MKZIP) -o $@ bootstrap=$<

# The tools the tests run (scripts/check-prereqs.sh knows each one's package).
TEST_PREREQS ?= go git python3 node curl aws chromium
# The pinned Runtime Interface Emulator is built once into the Go build cache
# (cleared by `go clean -cache`), one directory per version, so every checkout
# shares it and a second `make test` does not rebuild it. Set STREAMSTRAP_RIE
# to use another emulator binary.
RIE_VERSION = $(shell sed -n 's/^RIE_VERSION=//p' internal/rietest/install-rie.sh)
RIE_DIR    ?= $(shell $(GO) env GOCACHE 2>/dev/null)/streamstrap-rie/$(RIE_VERSION)
FUZZTIME   ?= 6s

## test: prerequisites, vet, race tests (the RIE tests too, and a 1,000-invocation soak), a short
## run of every fuzz target (the README's test command, and what .ci/run runs)
test:
	@bash scripts/check-prereqs.sh $(TEST_PREREQS)
	$(GO) vet ./...
	@rie="$${STREAMSTRAP_RIE:-}"; \
	if [[ -z "$$rie" ]]; then rie="$$(RIE_DIR='$(RIE_DIR)' bash internal/rietest/install-rie.sh)"; fi; \
	echo "aws-lambda-rie: $$rie"; \
	echo "$(GO) test -race -count=1 -timeout=30m ./..."; \
	STREAMSTRAP_RIE="$$rie" $(GO) test -race -count=1 -timeout=30m ./...
	cd e2e/sdk && $(GO) test -race -count=1 ./...
	cd internal/eventstream/sdkcheck && $(GO) test -race -count=1 ./...
	@echo "the whole-process benchmark once, small, so it cannot rot (bench/, its own module)"
	cd bench && $(GO) vet ./... && $(GO) test -count=1 ./...
	$(MAKE) --no-print-directory fuzz

## fuzz: every parser of outside input, FUZZTIME each (13 targets: about a minute in all)
FUZZ_TARGETS := \
	internal/runtimeapi:FuzzNextHeaders internal/chunked:FuzzReadAnswer internal/handler:FuzzSplitWords \
	internal/prelude:FuzzParser internal/preflight:FuzzCheck internal/cgi:FuzzFromEvent \
	internal/cgi:FuzzPathInfo internal/eventstream:FuzzDecode internal/functionurl:FuzzWriter \
	internal/httpwire:FuzzAnswer internal/httpwire:FuzzCanonicalKey internal/loop:FuzzContextJSON \
	internal/sniff:FuzzContentType
fuzz:
	@echo "fuzzing for $(FUZZTIME) each: a line every 3s, and the last ones may show 0/sec; each stops by itself"
	@# Go's fuzzer can end a clean run with "context deadline exceeded" when
	@# -fuzztime runs out mid-exchange with a worker; a real finding always
	@# says "Failing input written", so only that fails the target.
	@log="$$(mktemp)"; trap 'rm -f "$$log"' EXIT; \
	for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t#*:} ($(FUZZTIME))"; \
		if ! $(GO) test -run='^$$' -fuzz="^$${t#*:}$$" -fuzztime=$(FUZZTIME) ./$${t%%:*}/ 2>&1 | tee "$$log"; then \
			if grep -q 'context deadline exceeded' "$$log" && ! grep -q 'Failing input written' "$$log"; then \
				echo "fuzz $${t#*:}: the fuzzer's own time-out at the end, no failing input: not a finding"; \
			else exit 1; fi; \
		fi; \
	done

## soak: 10,000 mixed invocations through one bootstrap, printing its RSS, descriptors, threads and
## goroutines at every thousand; fails on growth (`make test` runs 1,000 of them)
SOAK ?= 10000
soak:
	STREAMSTRAP_SOAK=$(SOAK) $(GO) test -count=1 -run='^TestSoak$$' -v -timeout=60m ./cmd/bootstrap/

## run: `bootstrap serve` on examples/page (an HTML page that paints in parts): open the URL it prints
SERVE_LISTEN ?= 127.0.0.1:9000
run: $(DIST)/bootstrap
	$(DIST)/bootstrap serve --listen $(SERVE_LISTEN) --mode http -- examples/page/page.sh

## bench: whole-process benchmarks of the real binary (time to first byte, throughput, per-invocation
## overhead, start-up, peak RSS, binary size; serve's added first-byte time, throughput and memory
## beside the bootstrap alone), each against a baseline measured in the same run,
## then the packages' micro-benchmarks, then the side-by-side run against aws-lambda-go, bash+curl
## and the floors (bench/cmd/benchrun), which writes BENCHMARKS.md and BENCHMARKS.png
bench:
	$(GO) test -run='^$$' -bench=. -skip='^BenchmarkServe' -benchtime=3x -count=1 ./cmd/bootstrap/
	$(GO) test -run='^$$' -bench=BenchmarkServeFirstByte -benchtime=100x -count=1 ./cmd/bootstrap/
	$(GO) test -run='^$$' -bench='^BenchmarkServe(Throughput|PeakRSS)$$' -benchtime=5x -count=1 ./cmd/bootstrap/
	$(GO) test -run='^$$' -bench=. -benchmem -count=1 ./internal/chunked/ ./internal/prelude/ ./internal/runtimeapi/ ./internal/keepalive/ ./internal/httpwire/ ./internal/invoke/ ./internal/preflight/ ./internal/runtimeapitest/
	cd bench && $(GO) run ./cmd/benchrun -out ../BENCHMARKS.md

## reproducible: build a snapshot of the sources twice, in two directories, the second
## time with an empty build cache, and compare every binary and zip byte for byte
REPRO_SOURCES := go.mod go.sum Makefile cmd internal
reproducible:
	@a=$$(mktemp -d); b=$$(mktemp -d); trap 'chmod -R u+w "$$a" "$$b"; rm -rf "$$a" "$$b"' EXIT; \
	mkdir -p "$$a/src" "$$b/src"; cp -R $(REPRO_SOURCES) "$$a/src/"; cp -R "$$a/src/." "$$b/src/"; \
	stamp="VERSION=$(VERSION) COMMIT=$(COMMIT) DATE=$(DATE)"; \
	$(MAKE) -C "$$a/src" --no-print-directory build layer DIST="$$a/dist" $$stamp; \
	GOCACHE="$$b/gocache" $(MAKE) -C "$$b/src" --no-print-directory build layer DIST="$$b/dist" $$stamp; \
	for f in $(ARTIFACTS); do cmp "$$a/dist/$$f" "$$b/dist/$$f"; echo "identical: $$f"; done

## image: the container image (needs a Docker engine with BuildKit)
image:
	docker build --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) --build-arg DATE=$(DATE) -t $(IMAGE) .

print-ldflags:
	@echo '$(LDFLAGS)'

print-lambda-ldflags:
	@echo '$(LAMBDA_LDFLAGS)'

print-version:
	@echo 'VERSION=$(VERSION) COMMIT=$(COMMIT) DATE=$(DATE)'

clean:
	rm -rf $(DIST)

FORCE:
