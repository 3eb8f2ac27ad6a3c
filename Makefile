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
	@infra/install-tools.sh moto sam checkov

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

# The lifecycle, purge and export integration tests a second time, through
# the AWS behaviour model (infra/model's Testing parameters: partitions
# throttled at a tenth of DynamoDB's rates, transaction conflicts, 1% of
# calls answered 5xx, index reads a second behind the table). Part of
# `make test`.
MODEL_TESTS := ./functions/deletionrequest/... ./functions/purge/... ./functions/exports/... ./functions/exportworker/...
.PHONY: integration-model
integration-model: tools
	RTBF_MODEL=testing infra/with-emulator.sh $(GO) test -tags integration -race -count=1 -timeout 15m $(MODEL_TESTS)

test: tools fmt-check vet govulncheck unit emulator-check integration integration-model template-check e2e

clean:
	rm -rf .aws-sam .run bin

# Runs the whole system locally (infra/local): moto, every function of
# template.yaml behind a local Lambda Runtime API, and the HTTP API on 127.0.0.1:3000
# (RTBF_LOCAL_ADDR, RTBF_EMULATOR_PORT override). Ctrl-C stops everything.
.PHONY: run
run: tools
	@mkdir -p .run && $(GO) build -o .run/local ./infra/local && exec .run/local

# Verifies an erasure certificate offline, with no AWS access
# (infra/verifycert): FILE is the certificate (the body of GET
# /v1/deletion-requests/{id}/certificate), KEY the stack's public key (the
# body of GET /v1/erasure-certificates/public-key, or a PEM of it).
.PHONY: verify-certificate
verify-certificate:
	@[ -n "$(FILE)" ] || { echo "usage: make verify-certificate FILE=<certificate.json> [KEY=<public-key.json or .pem>]" >&2; exit 2; }
	@$(GO) run ./infra/verifycert $(if $(KEY),-key "$(KEY)") "$(FILE)"

# Figures, not assertions: the purge at issue 3's size against the
# emulator, beside a naive one-call-per-item baseline, then both through
# the AWS behaviour model (infra/model). BENCH_SCALE=10 runs a client ten
# times the size, through the model only (slowed and time-scaled: README).
BENCH_SCALE ?= 1
bench: tools
	@mkdir -p .run && $(GO) build -o .run/bench ./infra/bench
	infra/with-emulator.sh .run/bench -scale $(BENCH_SCALE) $(BENCH_FLAGS)
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

# Dependency hygiene. `make deps` lists the modules that have a newer
# release (it asks the Go module proxy). `make govulncheck` (part of
# `make test`) fails when the code calls a function with a known
# vulnerability, in a module or in the standard library of the Go toolchain
# in use. Its database is built here, offline from then on: the pinned
# snapshot of golang.org/x/vulndb, a module whose data/osv holds the OSV
# reports, indexed by vulndb's own cmd/indexdb into .tools/vulndb (the
# layout `govulncheck -db file://` reads). Those reports carry no modified
# date (vulndb stamps it from its git history when it publishes), so the
# database is dated by the snapshot: the commit time in its pseudo-version.
# Stamps rebuild the tools and the database when a pin moves.
.PHONY: deps govulncheck vuln-tools
VULN_VERSION := v1.9.0
VULNDB_VERSION := v0.0.0-20261105234957-e22db6528018
GOVULNCHECK := .tools/bin/govulncheck
VULNDB := .tools/vulndb
deps:
	@$(GO) list -m -u -f '{{if .Update}}{{.Path}} {{.Version}} -> {{.Update.Version}}{{end}}' all | \
		awk 'NF { print; n++ } END { if (!n) print "every module is at its newest release" }'

vuln-tools:
	@if [ ! -x $(GOVULNCHECK) ] || [ "$$(cat $(GOVULNCHECK).version 2>/dev/null)" != $(VULN_VERSION) ]; then \
		GOBIN=$(CURDIR)/.tools/bin $(GO) install golang.org/x/vuln/cmd/govulncheck@$(VULN_VERSION) && \
		echo $(VULN_VERSION) > $(GOVULNCHECK).version; \
	fi
	@if [ ! -f $(VULNDB)/index/db.json ] || [ "$$(cat $(VULNDB).version 2>/dev/null)" != $(VULNDB_VERSION) ]; then \
		set -e; \
		GOBIN=$(CURDIR)/.tools/bin $(GO) install golang.org/x/vulndb/cmd/indexdb@$(VULNDB_VERSION); \
		src=$$($(GO) mod download -json golang.org/x/vulndb@$(VULNDB_VERSION) | sed -n 's/^\t"Dir": "\(.*\)",$$/\1/p'); \
		rm -rf $(VULNDB) $(VULNDB).tmp; \
		.tools/bin/indexdb -vulns "$$src/data/osv" -out $(VULNDB).tmp; \
		at=$$(echo $(VULNDB_VERSION) | sed -E 's/.*-([0-9]{4})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})-.*/\1-\2-\3T\4:\5:\6Z/'); \
		printf '{"modified":"%s"}' "$$at" > $(VULNDB).tmp/index/db.json; \
		gzip -nf -k $(VULNDB).tmp/index/db.json; \
		mv $(VULNDB).tmp $(VULNDB); \
		echo $(VULNDB_VERSION) > $(VULNDB).version; \
	fi

govulncheck: vuln-tools
	@status=0; $(GOVULNCHECK) -db file://$(CURDIR)/$(VULNDB) ./... || status=$$?; \
	echo "govulncheck: database golang.org/x/vulndb@$(VULNDB_VERSION), reports as of $$(sed -n 's/.*"modified":"\([^"]*\)".*/\1/p' $(VULNDB)/index/db.json), $$(ls $(VULNDB)/ID | grep -c 'json$$') reports"; \
	exit $$status

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
