# Ferry's build. Wails keeps its assets in build/, so every target is .PHONY:
# a target named like a directory would otherwise be "up to date" and do nothing.
.PHONY: soak load fuzz fuzz-short extension extension-test bench bench-cli bench-window bench-yield package package-test all deps apt-deps tools node-deps e2e-deps frontend build run test lint fmt-check vet vet-darwin vet-windows staticcheck frontend-test go-test e2e screenshots clean distclean

SHELL := /bin/bash
# Steps depend on each other's order (test ends with the e2e summary); keep it under -j too.
.NOTPARALLEL:
GO ?= go
# Debian 12 ships WebKitGTK 4.1 only; Wails needs the tag to link against it
# (wails.json's "build:tags" says the same for `wails build`).
TAGS := webkit2_41
# mattn/go-sqlite3 builds without cgo and then fails at run time.
export CGO_ENABLED := 1

WAILS_VERSION := v2.16.0
STATICCHECK_VERSION := v0.8.2
# Tools go to versioned directories, so a version bump installs the new one.
TOOLS := $(CURDIR)/.tools
WAILS := $(TOOLS)/wails-$(WAILS_VERSION)/wails
STATICCHECK := $(TOOLS)/staticcheck-$(STATICCHECK_VERSION)/staticcheck
# SeaweedFS: the S3 gateway of the fleet upload tests (serve-uploads --store).
# The module proxy serves this one pseudo-version; its build takes a while
# (see scripts/build-seaweedfs.sh), once per version.
SEAWEEDFS_VERSION := v0.0.0-20261109003541-7506e5f91cd6
WEED := $(TOOLS)/seaweedfs-$(SEAWEEDFS_VERSION)/weed
GOWINRES_VERSION := v0.3.3
GOWINRES := $(TOOLS)/go-winres-$(GOWINRES_VERSION)/go-winres

# lxqt-panel: a real tray host (StatusNotifierWatcher) for the end-to-end test
# of a panel that starts after the app. hyperfine and time (GNU time):
# the CLI's cost, in make bench-cli and cmd/ferry's latency test.
# desktop-file-utils: the package test validates the desktop entry.
# iproute2: the yield benchmark's network namespaces and tbf (scripts/yield-net.sh).
# fuse3: fusermount, for the power-cut tests' FUSE filesystem (backend/internal/crashfs).
# firefox-esr: the extension's Firefox build installed over WebDriver BiDi (e2e).
APT_PACKAGES := build-essential pkg-config libgtk-3-dev libwebkit2gtk-4.1-dev \
	nginx-light tinyproxy aria2 curl xvfb xauth dbus-x11 dbus chromium imagemagick \
	lxqt-panel hyperfine time desktop-file-utils iproute2 firefox-esr fuse3

NODE_STAMP := frontend/node_modules/.package-lock.json
E2E_STAMP := e2e/node_modules/.package-lock.json

all: build

## deps: install what is missing (apt packages, pinned Go tools, node_modules); quick when all is there
deps: apt-deps tools node-deps

apt-deps:
	@scripts/apt-deps.sh $(APT_PACKAGES) $(WINDOWS_APT_PACKAGES)

tools: $(WAILS) $(STATICCHECK) $(WEED)

$(WAILS):
	GOBIN=$(@D) $(GO) install github.com/wailsapp/wails/v2/cmd/wails@$(WAILS_VERSION)

$(STATICCHECK):
	GOBIN=$(@D) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

# `go install` refuses SeaweedFS' replace directives: the script builds it
# inside a writable copy of the downloaded module.
$(WEED):
	GO=$(GO) scripts/build-seaweedfs.sh $@ $(SEAWEEDFS_VERSION)

# The Windows resource compiler, built on the winres library that Wails' own
# packager uses (wails build cannot cross-link SQLite's cgo with mingw).
$(GOWINRES):
	GOBIN=$(@D) $(GO) install github.com/tc-hib/go-winres@$(GOWINRES_VERSION)

node-deps: $(NODE_STAMP)

# npm ci rewrites node_modules/.package-lock.json, so it runs again only when
# package.json or the lock file is newer than the installed tree.
$(NODE_STAMP): frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund

# The end-to-end tests' own node_modules (playwright-core, which drives
# Debian's chromium: `npx playwright install` cannot download browsers here).
e2e-deps: $(E2E_STAMP)

$(E2E_STAMP): e2e/package.json e2e/package-lock.json
	cd e2e && npm ci --no-audit --no-fund

frontend: node-deps
	cd frontend && npm run build

## extension: the browser extension (extension/), built with the frontend's Vite and TypeScript: build/extension/{chromium,firefox}/ unpacked, and ferry-{chromium,firefox}.zip
# extension/node_modules is a link to the frontend's: one toolchain, one lock file.
extension: node-deps
	ln -sfn ../frontend/node_modules extension/node_modules
	cd extension && node_modules/.bin/tsc -p tsconfig.json && node build.mjs

## extension-test: the extension's logic (vitest) and web-ext lint of the Firefox build
extension-test: extension e2e-deps
	cd extension && node_modules/.bin/vitest run
	cd e2e && node_modules/.bin/web-ext lint --source-dir ../build/extension/firefox --self-hosted --warnings-as-errors

## build: both executables: build/bin/ferry (CLI and headless engine) and build/bin/ferry-desktop (the window; JS bindings regenerated in frontend/wailsjs)
# -s: the frontend was just built above; -m: never `go mod tidy`, which
# would drop requirements of packages that are being written.
build: deps frontend
	$(WAILS) build -m -s
	$(GO) build -trimpath -o build/bin/ferry ./cmd/ferry
	@ls -l build/bin/ferry build/bin/ferry-desktop

## bench: every case next to curl and aria2c in one run (1 GiB and 2,000 files of 16 KiB from a loopback nginx, a 48 MiB segmented download from a per-connection-limited nginx, a 256 MiB upload to ferry serve-uploads, each scripts/bench-NAME.sh: the CLI's cost, a queue of 10,000 jobs, the window's footprint, yielding), then the report: bench/results/ (results.md, results.json, PNG charts) and the README's Performance section (BENCH_CASES, BENCH_SIZE_MIB, BENCH_FILES, BENCH_FILE_KIB, BENCH_SEG_MIB, BENCH_UPLOAD_MIB, BENCH_QUEUE_JOBS, BENCH_QUEUE_FILES, BENCH_RUNS, BENCH_README=)
bench: build
	scripts/bench.sh

## bench-yield: background jobs yield: curl alone, curl beside a LOW job, the job alone, on a 50 Mbit/s tbf link in namespaces (plain and 40 ms RTT; root); bench/results/yield-*.csv (BENCH_RUNS, BENCH_YIELD_SECONDS)
bench-yield: build
	scripts/bench-yield.sh

## bench-cli: ferry getstate against a trivial Go program (wall, CPU, memory), ferry's shared libraries, a loop of ferry create (BENCH_RUNS, BENCH_JOBS)
bench-cli: build
	scripts/bench-cli.sh

## bench-window: the desktop window's footprint under Xvfb with 1,000 jobs: PSS and RSS of its process tree, idle CPU, open and hidden to the tray (BENCH_JOBS, BENCH_IDLE_SECONDS, BENCH_OUT)
bench-window: build
	scripts/bench-window.sh

## package: the Debian package build/bin/ferry_VERSION_ARCH.deb (both executables, desktop entry, icon, user systemd unit)
package: build
	scripts/package-deb.sh

## package-test: unpack the package into a scratch root and use it: files, desktop entry, the unit's engine, a CLI session
package-test: package
	scripts/test-package.sh

## run: build, then open the window
run: build
	build/bin/ferry-desktop

## test: formatting, vet, staticcheck, frontend tests, the Go tests, the Windows tests under Wine, the package test, then the end-to-end tests (their "N passed, N failed" ends the output)
test: deps frontend lint frontend-test extension-test go-test load fuzz-short test-windows package-test e2e

## lint: gofmt, go vet (also for macOS and Windows) and staticcheck (also for Windows)
lint: fmt-check vet vet-darwin vet-windows staticcheck

fmt-check:
	@out=$$(find . -path ./frontend -prune -o -path ./.tools -prune -o -path ./.git -prune -o -name '*.go' -print | xargs gofmt -l); \
	if [[ -n "$$out" ]]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet -tags $(TAGS) ./...

# What can be checked for macOS without a Mac: the backend and ferry, both
# architectures, without cgo (the window and the tray need cgo and the
# macOS SDK; see the README's macOS section).
vet-darwin:
	@for arch in arm64 amd64; do \
		echo "go vet (darwin/$$arch, CGO_ENABLED=0) ./backend/... ./cmd/ferry ./frontend"; \
		GOOS=darwin GOARCH=$$arch CGO_ENABLED=0 $(GO) vet ./backend/... ./cmd/ferry ./frontend || exit 1; \
	done

# Every package and its tests, as they build for Windows (without cgo, so
# that no mingw is needed to check them; test-windows builds with it).
vet-windows:
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 $(GO) vet ./...

staticcheck: tools
	$(STATICCHECK) -tags $(TAGS) ./...
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 $(STATICCHECK) ./...

frontend-test: node-deps
	cd frontend && npm test

go-test: $(WEED)
	FERRY_REQUIRE_ALL=1 $(GO) test -race -timeout 20m -tags $(TAGS) ./...

## soak: the long variants, kept out of make test: the yield targets on the shaped links (root); the crash tests (FERRY_SOAK=1): 200 kill -9 of a download, 50 of a download in segments, of an upload (and its server), of complete, of addfileset of 10,000 files and of config set, the baseline without resume hints, and power cuts at 1,000 points (hours on a loaded machine; FERRY_POWERCUTS=N for fewer); and the fleet upload load test: 200 concurrent upload jobs of 1 KiB to 64 MiB through nginx to two serve-uploads instances on SeaweedFS (SOAK_JOBS, SOAK_MAX_MIB)
soak: deps $(WEED)
	FERRY_REQUIRE_ALL=1 $(GO) test -race -timeout 10m -tags $(TAGS),yieldtarget -run 'TestYieldOnShapedLink' -count=1 -v ./backend/transfer
	FERRY_REQUIRE_ALL=1 FERRY_SOAK=1 $(GO) test -count=1 -timeout 600m -tags $(TAGS) -run 'TestCrashLoop|TestCrashHint|TestPowerCut' -v ./backend/engine ./backend/cli
	$(GO) test -tags $(TAGS),soak -count=1 -timeout 60m -run TestFleetSoak -v ./backend/cli/

## load: 50 clients issue 20,000 operations on the control socket while 20 jobs transfer; prints p50/p99 latency (go-test runs it with -race at a tenth of the size)
load:
	set -o pipefail; $(GO) test -count=1 -run '^TestLoadManyClientsWhileJobsTransfer$$' -v ./backend/api | grep -E '^(=== RUN|--- |ok|FAIL|PASS)|load:'

# Every fuzz target of the backend (scripts/fuzz.sh lists them: URLs, local
# paths, Content-Range on both sides, proxy lists, custom headers, segment
# tables, the upload protocol's packets and Acks, command lines, API calls
# and answers, addfileset lists, settings values). go test above already
# runs each one's committed corpus (testdata/fuzz) as a test.
FUZZTIME ?= 5m

## fuzz: each fuzz target for FUZZTIME (default 5m; FUZZ_ONLY=REGEXP, FUZZ_KEEP=1 adds new inputs to testdata/fuzz)
fuzz:
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

# The bounded run of make test: 3 s of new inputs per target (about 2 minutes with the builds).
fuzz-short:
	FUZZTIME=3s FUZZMINTIME=2s scripts/fuzz.sh

## e2e: the built binary in Chromium (ferry web) and under Xvfb with a private D-Bus session (the window, tray, notifications)
e2e: build extension e2e-deps
	cd e2e && node run.mjs

## screenshots: run the tests that take the README's screenshots and keep them in docs/screenshots
screenshots: build e2e-deps
	cd e2e && FERRY_SCREENSHOTS=docs/screenshots node run.mjs screenshots "a 404" "desktop window" "context menu"

## ---- Windows (cross-compiled with mingw-w64, tested under Wine) ----
.PHONY: windows-res build-windows test-windows

# Windows' four-part version of service.Version: 0.1.0-dev is 0.1.0.0.
WINDOWS_VERSION := $(shell sed -n 's/^var Version = "\([0-9]*\.[0-9]*\.[0-9]*\).*/\1/p' backend/service/service.go).0

## windows-res: the executables' resources (icon, manifest, version; build/windows/*.json) as the .syso files go build links into them
windows-res: $(GOWINRES)
	$(GOWINRES) make --in build/windows/ferry-desktop.json --out ferry-desktop --arch amd64 \
		--file-version $(WINDOWS_VERSION) --product-version $(WINDOWS_VERSION)
	$(GOWINRES) make --in build/windows/ferry.json --out cmd/ferry/ferry --arch amd64 \
		--file-version $(WINDOWS_VERSION) --product-version $(WINDOWS_VERSION)

# The C cross-compiler (SQLite needs cgo) and Wine, which runs the console
# programs and Go test binaries (the window needs WebView2, which Wine lacks).
WINDOWS_APT_PACKAGES := gcc-mingw-w64-x86-64 wine wine64
WINDOWS_ENV := GOOS=windows GOARCH=amd64 CGO_ENABLED=1 CC=x86_64-w64-mingw32-gcc

## build-windows: build/bin/ferry.exe (console: CLI and engine) and build/bin/ferry-desktop.exe (GUI subsystem: the window)
build-windows: apt-deps frontend windows-res
	$(WINDOWS_ENV) $(GO) build -trimpath -o build/bin/ferry.exe ./cmd/ferry
	$(WINDOWS_ENV) $(GO) build -trimpath -tags desktop,production -ldflags "-H=windowsgui" -o build/bin/ferry-desktop.exe .
	@file build/bin/ferry.exe build/bin/ferry-desktop.exe

## test-windows: both executables' build and resources, the Windows test binaries and a ferry.exe CLI session over its named pipe, under Wine (prefix in .wine/)
test-windows: build-windows
	GOWINRES=$(GOWINRES) scripts/windows/test.sh

## clean: remove build outputs; distclean also removes tools and node_modules
clean:
	rm -rf build/bin build/windows-test e2e/artifacts
	find frontend/dist -mindepth 1 ! -name .gitkeep -delete

distclean: clean
	rm -rf .tools .wine frontend/node_modules frontend/package.json.md5 e2e/node_modules
