# handshake-janitor. `make run` runs the product locally against the
# emulator; `make test` runs every test. Nothing here downloads anything but
# Go modules.

GO        ?= go
AWS_ARCH  ?= arm64
MODULE    := github.com/handshake-janitor/handshake-janitor

## RELEASE: the version this tree is released as, defined once, by the first
## "## [x.y.z]" heading of CHANGELOG.md (template.yaml's SemanticVersion and
## the registry's publish.yaml repeat it; internal/deploytest holds them to it).
RELEASE   := $(shell sed -n 's/^\#\# \[\([0-9][0-9]*\.[0-9][0-9]*\.[0-9][0-9]*\)\].*/\1/p' CHANGELOG.md 2>/dev/null | head -n 1)
## VERSION: what the binaries report (internal/version), from the newest v*
## tag without its v: 0.1.0 on the tag, 0.1.0-3-g1a2b3c4 after it, "-dirty"
## with uncommitted changes. Without a tag RELEASE-dev+COMMIT, without git
## RELEASE-dev. The same commit gives the same VERSION, so the same bytes.
## (make VERSION=... overrides it; a VERSION in the environment does not.)
DESCRIBE  := $(shell git describe --tags --always --dirty --match 'v[0-9]*' 2>/dev/null)
VERSION   := $(if $(filter v%,$(DESCRIBE)),$(patsubst v%,%,$(DESCRIBE)),$(RELEASE)-dev$(if $(DESCRIBE),+$(DESCRIBE)))
LDFLAGS   := -s -w -buildid= -X $(MODULE)/internal/version.Version=$(VERSION)
GOBUILD   := CGO_ENABLED=0 $(GO) build -trimpath -ldflags='$(LDFLAGS)'

.PHONY: all build build-aws build-fc build-HandshakeJanitorFunction test test-standalone run lint fmt bench fuzz package release version clean tools

all: build

## build: dist/aws/bootstrap (linux/$(AWS_ARCH)) and dist/fc/main (linux/amd64)
build: build-aws build-fc

build-aws:
	GOOS=linux GOARCH=$(AWS_ARCH) $(GOBUILD) -tags lambda.norpc -o dist/aws/bootstrap ./functions/aws

build-fc:
	GOOS=linux GOARCH=amd64 $(GOBUILD) -o dist/fc/main ./functions/fc

## build-HandshakeJanitorFunction: called by `sam build` (BuildMethod: makefile);
## always arm64, whatever AWS_ARCH says: template.yaml declares arm64
build-HandshakeJanitorFunction:
	GOOS=linux GOARCH=arm64 $(GOBUILD) -tags lambda.norpc -o $(ARTIFACTS_DIR)/bootstrap ./functions/aws

## package: upload-ready, reproducible archives for the web consoles:
##   dist/handshake-janitor-aws-$(AWS_ARCH).zip (bootstrap at its root, 0755)
##   dist/handshake-janitor-fc.zip (main at its root, 0755)
## Same source and toolchain, same bytes (internal/cmd/zipdist).
ZIPDIST   := $(GO) run ./internal/cmd/zipdist

package: build
	$(ZIPDIST) -o dist/handshake-janitor-aws-$(AWS_ARCH).zip dist/aws/bootstrap
	$(ZIPDIST) -o dist/handshake-janitor-fc.zip dist/fc/main

## release: everything a release publishes, in dist/, and nothing published
## (docs/releasing.md). Always arm64, as template.yaml declares.
##   dist/handshake-janitor-aws-arm64.zip, dist/handshake-janitor-fc.zip
##   dist/SHA256SUMS          their SHA-256 sums (sha256sum -c SHA256SUMS)
##   dist/sar/                template.yaml with CodeUri the arm64 archive, and
##                            the files its SAR metadata names: sam package, sam publish
##   dist/registry/handshake-janitor/
##                            the Serverless Devs application (deploy/aliyun/registry)
##                            with the FC binary in src/code: s registry publish
SAR_DIR      := dist/sar
REGISTRY_DIR := dist/registry/handshake-janitor

release: override AWS_ARCH := arm64
release: package
	@if [ -z "$(RELEASE)" ]; then echo "make release: CHANGELOG.md has no released version (## [x.y.z])" >&2; exit 1; fi
	@if [ "$(VERSION)" != "$(RELEASE)" ]; then echo "make release: the binaries say $(VERSION), not $(RELEASE): a test build (tag v$(RELEASE) to release)" >&2; fi
	rm -rf $(SAR_DIR) dist/registry
	@grep -q '^      CodeUri: \.$$' template.yaml || { echo "make release: template.yaml has no 'CodeUri: .' line to point at the archive" >&2; exit 1; }
	mkdir -p $(SAR_DIR)/docs $(REGISTRY_DIR)/src/code
	sed 's|^      CodeUri: \.$$|      CodeUri: ../handshake-janitor-aws-arm64.zip|' template.yaml > $(SAR_DIR)/template.yaml
	install -m 0644 LICENSE $(SAR_DIR)/LICENSE
	install -m 0644 docs/sar-readme.md $(SAR_DIR)/docs/sar-readme.md
	install -m 0644 deploy/aliyun/registry/publish.yaml deploy/aliyun/registry/readme.md $(REGISTRY_DIR)/
	install -m 0644 deploy/aliyun/registry/src/s.yaml $(REGISTRY_DIR)/src/s.yaml
	install -m 0755 dist/fc/main $(REGISTRY_DIR)/src/code/main
	cd dist && sha256sum handshake-janitor-aws-arm64.zip handshake-janitor-fc.zip > SHA256SUMS
	@echo "release $(VERSION) in dist/: see docs/releasing.md to publish it"

## version: the version the binaries get (VERSION) and the release (RELEASE)
version:
	@echo "VERSION=$(VERSION) RELEASE=$(RELEASE)"

## test: every test, race detector on
## Tests talk to 127.0.0.1 only: the credential chains' metadata services
## (Alibaba Cloud ECS, AWS IMDS) are switched off for them.
NO_METADATA := ALIBABA_CLOUD_ECS_METADATA_DISABLED=true AWS_EC2_METADATA_DISABLED=true

test:
	$(NO_METADATA) $(GO) test -race -count=1 -timeout 15m ./...

## test-standalone: clone the committed HEAD into an empty temporary folder
## (nothing beside it) and run the deploy tests there: catches a test or
## document that reads outside the repository. CI runs it.
test-standalone:
	@d=$$(mktemp -d) && trap 'rm -rf "$$d"' EXIT && \
	  git clone -q "$$(git rev-parse --show-toplevel)" "$$d/repo" && \
	  cd "$$d/repo" && $(NO_METADATA) $(GO) test -count=1 ./internal/deploytest/

## run: the product end to end on this machine, against the in-process emulator
run:
	$(GO) run ./cmd/janitor demo

## bench: the performance figures (docs/performance.md): builds the shipped
## binaries, plus the CLI and the AWS function for this machine with the same
## flags, then runs cmd/bench, which prints one table, writes
## bench/results.json and leaves CPU and allocation profiles in bench/*.prof.
## About 5 minutes on 2 cores; bounded to 9.
bench: build
	$(GOBUILD) -o dist/bench/janitor ./cmd/janitor
	$(GOBUILD) -tags lambda.norpc -o dist/bench/bootstrap ./functions/aws
	$(GOBUILD) -o dist/bench/bench ./cmd/bench
	$(NO_METADATA) dist/bench/bench -janitor dist/bench/janitor -aws dist/bench/bootstrap -fc dist/fc/main \
	  -sizes dist/aws/bootstrap,dist/fc/main -out bench/results.json -profile bench

## fuzz: every fuzz target of the module (found with go test -list), each for
## FUZZTIME; a crasher is written to the package's testdata/fuzz, which
## `make test` then runs. The seed corpora also run in `make test`. Every
## target runs even after one fails; the failures are listed at the end.
FUZZTIME ?= 30s

fuzz:
	@targets=$$($(GO) test -list '^Fuzz' ./... | awk '/^Fuzz/ { n[++c] = $$1 } /^ok/ { for (i = 1; i <= c; i++) print $$2 "," n[i]; c = 0 }'); \
	if [ -z "$$targets" ]; then echo "no fuzz targets found" >&2; exit 1; fi; \
	failed=; \
	for t in $$targets; do \
	  pkg=$${t%%,*}; name=$${t#*,}; \
	  echo "== $$pkg $$name ($(FUZZTIME))"; \
	  $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg || failed="$$failed $$pkg.$$name"; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: failed:$$failed (crashers are in each package's testdata/fuzz)" >&2; exit 1; fi

## lint: go vet, gofmt, staticcheck (pinned in go.mod as a tool)
lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) tool staticcheck ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf dist
