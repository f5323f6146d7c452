# handshake-janitor. `make run` runs the product locally against the
# emulator; `make test` runs every test. Nothing here downloads anything but
# Go modules.

GO        ?= go
AWS_ARCH  ?= arm64
LDFLAGS   := -s -w -buildid=
GOBUILD   := CGO_ENABLED=0 $(GO) build -trimpath -ldflags='$(LDFLAGS)'

.PHONY: all build build-aws build-fc build-HandshakeJanitorFunction test test-standalone run lint fmt bench fuzz package clean tools

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

## test: every test, race detector on
test:
	$(GO) test -race -count=1 -timeout 15m ./...

## test-standalone: clone the committed HEAD into an empty temporary folder
## (nothing beside it) and run the deploy tests there: catches a test or
## document that reads outside the repository. CI runs it.
test-standalone:
	@d=$$(mktemp -d) && trap 'rm -rf "$$d"' EXIT && \
	  git clone -q "$$(git rev-parse --show-toplevel)" "$$d/repo" && \
	  cd "$$d/repo" && $(GO) test -count=1 ./internal/deploytest/

## run: the product end to end on this machine, against the in-process emulator
run:
	$(GO) run ./cmd/janitor demo

## bench: the performance figures (docs/performance.md): builds the shipped
## binaries, plus the CLI and the AWS function for this machine with the same
## flags, then runs cmd/bench, which prints one table, writes
## bench/results.json and leaves CPU and allocation profiles in bench/*.prof.
## About 4 minutes on 2 cores; bounded to 9.
bench: build
	$(GOBUILD) -o dist/bench/janitor ./cmd/janitor
	$(GOBUILD) -tags lambda.norpc -o dist/bench/bootstrap ./functions/aws
	$(GOBUILD) -o dist/bench/bench ./cmd/bench
	dist/bench/bench -janitor dist/bench/janitor -aws dist/bench/bootstrap -fc dist/fc/main \
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
