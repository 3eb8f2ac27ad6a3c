# SAM build targets and template checks; included by the top-level Makefile.
#
# Every function in template.yaml has CodeUri "." and "BuildMethod: makefile",
# so `sam build` runs `make build-<LogicalId>` in the repository root with
# ARTIFACTS_DIR set to that function's output directory. Each target builds a
# static linux binary named bootstrap for the provided.al2023 runtime.

# Including this file must not change the includer's default goal.
sam_mk_default_goal := $(.DEFAULT_GOAL)

SAM ?= .tools/sam/bin/sam
CFN_LINT ?= .tools/sam/bin/cfn-lint
CHECKOV ?= .tools/checkov/bin/checkov
GO ?= go
# The functions run on arm64 (Graviton); override, e.g. GOARCH=amd64, to build
# binaries that run on an amd64 host.
GOARCH ?= arm64

# template.yaml is the list of functions: a function's logical id is
# <Name>Function and its package is ./functions/<name>, <Name> lower-cased
# (internal/localstack's Functions applies the same rule, and its tests check
# every function of the template builds by it).
sam_function_dir = $(shell printf '%s' '$(1)' | tr '[:upper:]' '[:lower:]')

# How every bootstrap is built:
#   lambda.norpc   leaves out aws-lambda-go's net/rpc entry point (go1.x only)
#   -s -w          no symbol table, no DWARF
#   -trimpath      reproducible paths
#   LOCAL_BUILD_TAGS  extra tags for the local stack's builds only: infra/local
#                  passes LOCAL_BUILD_TAGS=localclock on make's command line, so
#                  its functions read the local clock (internal/clock). Only a
#                  command-line value counts; one from the environment (a
#                  shell's, sam build's) is dropped, so no deployed bootstrap
#                  carries them.
ifneq ($(origin LOCAL_BUILD_TAGS),command line)
override LOCAL_BUILD_TAGS :=
endif
sam_mk_comma := ,
LAMBDA_BUILD = GOOS=linux GOARCH=$(GOARCH) CGO_ENABLED=0 $(GO) build \
	-tags lambda.norpc$(if $(LOCAL_BUILD_TAGS),$(sam_mk_comma)$(LOCAL_BUILD_TAGS)) -trimpath \
	-ldflags "-s -w"

.PHONY: build-package
build-%Function:
	@test -n "$(ARTIFACTS_DIR)" || { echo "$@: ARTIFACTS_DIR is not set (sam build sets it)" >&2; exit 1; }
	@test -f ./functions/$(call sam_function_dir,$*)/main.go || { echo "$@: no ./functions/$(call sam_function_dir,$*)/main.go" >&2; exit 1; }
	$(LAMBDA_BUILD) -o "$(ARTIFACTS_DIR)/bootstrap" ./functions/$(call sam_function_dir,$*)

# The same build of any main package (PKG=./dir), e.g. infra/rie's SDK floor.
build-package:
	@test -n "$(ARTIFACTS_DIR)" -a -n "$(PKG)" || { echo "$@: set ARTIFACTS_DIR and PKG" >&2; exit 1; }
	$(LAMBDA_BUILD) -o "$(ARTIFACTS_DIR)/bootstrap" $(PKG)

# sam runs offline here: telemetry is off, and its configuration directory is
# a git-ignored one under .aws-sam whose last version check is stamped "now"
# (a float: SAM ignores an integer there), so sam does not call PyPI for its
# weekly version check.
# (__SAM_CLI_APP_DIR is how SAM CLI lets a caller choose that directory.)
SAM_CLI_DIR := .aws-sam/sam-cli
SAM_OFFLINE = SAM_CLI_TELEMETRY=0 __SAM_CLI_APP_DIR=$(CURDIR)/$(SAM_CLI_DIR)
SAM_REGION ?= us-east-1

# --build-in-source runs make in the repository itself: without it SAM first
# copies the whole CodeUri (".", including .tools/) to a scratch directory for
# every function. Builds are not --cached: the cache key is a checksum of every
# file under CodeUri, .tools/ included.
.PHONY: template-check
template-check: checkov
	$(CFN_LINT) template.yaml
	@mkdir -p $(SAM_CLI_DIR)
	@printf '{"telemetryEnabled": false, "lastVersionCheck": %s.0}\n' "$$(date +%s)" > $(SAM_CLI_DIR)/metadata.json
	$(SAM_OFFLINE) $(SAM) validate --lint --region $(SAM_REGION) --template-file template.yaml
	$(SAM_OFFLINE) $(SAM) build --build-in-source --parallel --no-cached --template-file template.yaml
	@status=0; for b in .aws-sam/build/*/bootstrap; do f=$$(basename $$(dirname $$b)); \
		if $(GO) version -m $$b | grep -q -- '-tags=.*localclock'; then \
			echo "bootstrap $$f was built with the local stack's clock (localclock)" >&2; status=1; fi; \
	done; exit $$status

# checkov's CloudFormation checks of the template, offline: --skip-download
# asks its platform for nothing (no API key, guidelines or policies) and
# CKV_SKIP_PACKAGE_UPDATE_CHECK turns off its check for a newer release.
# A check the template does not pass is skipped inside its resource with the
# reason (# checkov:skip=<id>:<reason>); any other failure fails the target.
.PHONY: checkov
checkov:
	CKV_SKIP_PACKAGE_UPDATE_CHECK=true $(CHECKOV) --file template.yaml --framework cloudformation \
		--skip-download --compact --quiet

.DEFAULT_GOAL := $(sam_mk_default_goal)
