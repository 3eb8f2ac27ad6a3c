# The two commands the README promises:
#   make test   installs its pinned tools into .tools/, then runs every check
#   make run    (see README) runs the system locally
SHELL := bash
GO ?= go
export GOFLAGS ?= -buildvcs=false
# The Go toolchain is go.mod's toolchain line (a patch release of the go
# line's with the standard library's security fixes), which the go command
# fetches from the Go module proxy when the installed one is older; a
# machine whose go env says GOTOOLCHAIN=local would otherwise build with
# whatever it has. `make govulncheck` checks the standard library of the
# toolchain in use.
export GOTOOLCHAIN ?= auto

include infra/sam.mk

.PHONY: all tools build vet fmt-check unit integration test bench clean

all: build

tools: rie
	@infra/install-tools.sh moto sam

build:
	$(GO) build ./...

vet:
	$(GO) vet ./...
	$(GO) vet -tags integration ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.tools/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change: $$out" >&2; exit 1; fi

# Fast tests: pure logic and in-memory fakes; no emulator, no network.
unit:
	$(GO) test -race -count=1 ./...

# The emulator launcher's speed-ups change no answer: the same requests to
# moto as it is and to infra/moto/serve.py, answers compared byte for byte
# (both servers on 127.0.0.1, stopped at the end).
.PHONY: emulator-check
emulator-check: tools
	.tools/moto/bin/python infra/moto/test_serve.py

# Tests against the local AWS emulator, which this target starts and stops.
integration: tools
	infra/with-emulator.sh $(GO) test -tags integration -race -count=1 -timeout 15m ./...

test: tools fmt-check vet unit emulator-check integration template-check e2e

clean:
	rm -rf .aws-sam .run bin

# Runs the whole system locally (infra/local): moto, every function of
# template.yaml behind a local Lambda Runtime API, and the HTTP API on 127.0.0.1:3000
# (RTBF_LOCAL_ADDR, RTBF_EMULATOR_PORT override). Ctrl-C stops everything.
.PHONY: run
run: tools
	@mkdir -p .run && $(GO) build -o .run/local ./infra/local && exec .run/local

# Figures, not assertions: the purge at issue 3's size against the
# emulator, beside a naive one-call-per-item baseline.
bench: tools
	@mkdir -p .run && $(GO) build -o .run/bench ./infra/bench
	infra/with-emulator.sh .run/bench $(BENCH_FLAGS)
	$(MAKE) --no-print-directory coldstart

# The AWS Lambda runtime interface emulator (what `sam local invoke` runs in
# its container), from the Go module proxy: infra/rie runs the bootstraps
# that `sam build` makes under it. The stamp reinstalls it when the pin moves.
.PHONY: rie coldstart
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
RIE := .tools/bin/aws-lambda-rie
rie:
	@if [ ! -x $(RIE) ] || [ "$$(cat $(RIE).version 2>/dev/null)" != $(RIE_VERSION) ]; then \
		GOBIN=$(CURDIR)/.tools/bin $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION) && \
		echo $(RIE_VERSION) > $(RIE).version; \
	fi

# Cold-start figures: per function the size of its arm64 bootstrap and the
# median, over 20 fresh starts under the runtime interface emulator, of the
# time from starting the process to the first response.
coldstart: rie
	@mkdir -p .run && $(GO) build -o .run/coldstart ./infra/rie/coldstart
	infra/with-emulator.sh .run/coldstart

# Browser end-to-end test of the local console (infra/e2e): Debian's
# chromium (installed when missing), playwright-core pinned in
# infra/e2e/package-lock.json, the local stack on a free port against its own
# emulator. Screenshots land in .run/e2e-screenshots.
.PHONY: e2e
e2e: tools
	@[ -x /usr/bin/chromium ] || (apt-get update && apt-get install -y chromium)
	cd infra/e2e && npm ci --no-audit --no-fund
	infra/with-emulator.sh infra/e2e/run.sh
