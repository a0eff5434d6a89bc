# swrun: build, demo, test, install.
#   make demo      install what is missing, build, make the busybox bundle, run a container
#   make test      install what is missing, build, run unit and integration tests
#   make conformance  the in-container conformance matrix alone (docs/conformance.md)
#   make vm-image  build or refresh the cached test VM (vm/build.sh, docs/vm.md)
#   make vm-test   every VM suite (tests/vm/) in the test VM; ends "N passed, M failed"
#   make fuzz      the config and CLI fuzzers, FUZZ_TIME seconds each (FUZZ_RUNS=N: N inputs)
#   make bench     swrun vs crun vs runc (bench/run.sh; bench/vm-v2.sh in the test VM)
#   make layout    regenerate the start path's link order (layout/generate.sh)
#   make docs      the man pages and shell completions, from the command table (.build/share)
#   make install PREFIX=/usr/local   the binary, the man pages, the completions
#   make deb       a Debian package, swrun_VERSION_ARCH.deb, with dpkg-deb
SHELL := /bin/bash
# The swrun binary's compiler flags (Package.swift: unsafeFlags only when asked, so that the
# library products stay usable as a dependency).
export SWRUN_TUNED := 1
PREFIX ?= /usr/local
SWIFT ?= swift
RELEASE_FLAGS := -c release -Xswiftc -static-executable
BIN := .build/release/swrun
PROBE := .build/probe/swrun-probe
CONFORM := .build/release/swrun-conformance
DOCGEN := .build/release/swrun-docs
DOCS := .build/share
VERSION := $(shell sed -n 's/.*static let version = "\(.*\)"/\1/p' Sources/SwrunCLI/Help.swift)
# The completions' directories: bash-completion and fish read these under /usr/local/share and
# /usr/share alike; zsh's Debian fpath has site-functions under /usr/local, vendor-completions
# under /usr.
BASH_COMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSH_COMPDIR ?= $(PREFIX)/share/zsh/site-functions
FISH_COMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d
MANDIR ?= $(PREFIX)/share/man
BUNDLE := bundle
# Debian packages the build, the bundle and the tests need. The test VM (vm/, docs/vm.md):
# qemu-system-x86 runs it; mmdebstrap, e2fsprogs, xz-utils, cpio and busybox-static build its
# image, kernel and initramfs; util-linux gives flock and setpriv; uidmap gives newuidmap and
# newgidmap (the rootless tests, docs/rootless.md). zsh, fish and groff-base check the
# generated completions and man pages (DocsTests).
DEPS := libseccomp-dev libcap-dev busybox-static pkg-config gcc libc6-dev iproute2 util-linux \
	qemu-system-x86 xz-utils mmdebstrap e2fsprogs cpio zsh fish groff-base uidmap

# Engines for the end-to-end tests (make e2e); uidmap for rootless Podman.
E2E_DEPS := containerd docker.io podman bsdutils uidmap

.PHONY: all deps e2e-deps build probe bundle demo test unit conformance vm-image vm-test fuzz e2e bench layout docs install deb clean lint format

all: build

deps:
	@missing=""; for p in $(DEPS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

e2e-deps:
	@missing=""; for p in $(E2E_DEPS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	@command -v $(SWIFT) >/dev/null || { echo "make: no Swift toolchain ($(SWIFT)): see README.md, \"Two commands\", for getting one"; exit 1; }
	$(SWIFT) build $(RELEASE_FLAGS) 2>&1 | grep -v "statically linked applications requires at runtime" || true
	@test -x $(BIN) && $(BIN) --version | head -1

probe: $(PROBE)
$(PROBE): Tests/Probe/swrun-probe.c
	@mkdir -p $(dir $(PROBE))
	gcc -static -O2 -Wall -o $@ $<

bundle: build probe
	scripts/make-bundle.sh $(abspath $(BIN)) $(abspath $(PROBE)) $(BUNDLE)

# With a Swift toolchain: build, then check and run the bundle. Without one, a released swrun
# (SWRUN=PATH, or one installed from the .deb on PATH) does instead of a build (scripts/demo.sh).
demo: deps
	@if [ -z "$(SWRUN)" ] && command -v $(SWIFT) >/dev/null; then \
		$(MAKE) --no-print-directory build probe && scripts/demo.sh $(abspath $(BIN)) $(abspath $(PROBE)) $(BUNDLE); \
	else \
		$(MAKE) --no-print-directory probe && scripts/demo.sh "$(SWRUN)" $(abspath $(PROBE)) $(BUNDLE); \
	fi

lint:
	@! grep -rnE '^import (Foundation|Dispatch)$$' Sources/ || (echo "Foundation/Dispatch imported in the runtime"; exit 1)
	@! grep -rnE 'Task \{|async |await ' Sources/ || (echo "async code in the runtime"; exit 1)
	@! grep -rnE 'try!' Sources/ || (echo "try! in the runtime"; exit 1)
	@# The format (.swift-format: 4 spaces, 120 columns; what it cannot break, such as a
	@# long string literal, may stay longer). `make format` applies it.
	swift-format lint --strict -r --configuration .swift-format Sources Tests Fuzz Examples Package.swift

format:
	swift-format format -i -r --configuration .swift-format Sources Tests Fuzz Examples Package.swift

# The test VM (docs/vm.md): Debian's kernel and a Debian 12 image with systemd, pure cgroup v2
# and AppArmor, built once into $${SWRUN_VM_CACHE:-/var/cache/swrun-vm} and rebuilt when what
# it is built from changes (about a minute and a half from nothing).
vm-image: deps
	vm/build.sh

# Every suite under tests/vm/, each in a fresh VM, with the static swrun and probe; the last
# line is "N passed, M failed" over all of them.
vm-test: build probe deb vm-image
	vm/test.sh $(abspath $(BIN)) $(abspath $(PROBE))

unit: deps
	$(SWIFT) test --filter 'OCISpecTests|SwrunCoreTests'

TEST_ENV = SWRUN_BIN=$(abspath $(BIN)) SWRUN_PROBE=$(abspath $(PROBE)) SWRUN_CONFORMANCE=$(abspath $(CONFORM))

# The VM suites (VMSuiteTests, which drives vm/test.sh and builds the VM image first when it
# is missing or stale) run after the others rather than beside them: the VM keeps both of a
# 2-core machine's cores busy. Both runs happen whatever the first one says.
test: lint build probe deb
	@rc=0; \
	$(TEST_ENV) $(SWIFT) test --skip VMSuiteTests || rc=1; \
	$(TEST_ENV) $(SWIFT) test --skip-build --filter VMSuiteTests || rc=1; \
	exit $$rc

# The conformance matrix alone (also part of make test): swrun-conformance checks each
# config from inside its container; docs/conformance.md.
conformance: build probe
	$(TEST_ENV) $(SWIFT) test --filter ConformanceTests

# The libFuzzer targets (Fuzz/, docs/fuzzing.md): FUZZ_TIME seconds each (default 600), or
# FUZZ_RUNS inputs each (CI: a short, fixed number). A crash fails the target.
FUZZ_TIME ?= 600
fuzz: deps
	@if [ -n "$(FUZZ_RUNS)" ]; then Fuzz/run.sh --runs $(FUZZ_RUNS); else Fuzz/run.sh --time $(FUZZ_TIME); fi

# containerd (ctr --runc-binary), Docker (--add-runtime) and Podman (--runtime), each started
# privately under a temporary directory; see e2e/.
e2e: build e2e-deps
	e2e/run-all.sh $(abspath $(BIN))

# swrun vs runc vs crun side by side (not a test: ratios, not pass/fail). BENCH_RUNS and
# BENCH_N scale it; the table goes to bench/results.md. Then the pure cgroup v2 section in
# the test VM, each runtime with the cgroupfs and the systemd driver (bench/vm-v2.sh; ratios
# only, BENCH_VM_RUNS rounds), appended to it.
bench: build vm-image
	@for p in runc crun python3 /usr/bin/time; do command -v $$p >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends runc crun python3 time; break; }; done
	bench/run.sh $(abspath $(BIN)) bench/results.md
	@mkdir -p .build/vm-bench
	vm/run.sh --timeout 1800 --no-build --share .:/work:ro --share $(abspath .build/vm-bench):/results --workdir /work \
		--env BENCH_VM_RUNS -- bench/vm-v2.sh /work/$(BIN) /results/vm-v2.md
	@{ echo; echo "## Pure cgroup v2 (test VM)"; echo; cat .build/vm-bench/vm-v2.md; } >> bench/results.md
	@cat bench/results.md

# The man pages and completions, made by swrun-docs from the command table that --help
# prints (Sources/SwrunCLI/Verbs.swift), so that they cannot drift from the binary.
docs: build
	rm -rf $(DOCS)
	$(DOCGEN) $(DOCS)

install: build docs
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/swrun
	install -d $(DESTDIR)$(MANDIR)/man8
	install -m 0644 $(DOCS)/man/*.8 $(DESTDIR)$(MANDIR)/man8/
	install -D -m 0644 $(DOCS)/completions/swrun.bash $(DESTDIR)$(BASH_COMPDIR)/swrun
	install -D -m 0644 $(DOCS)/completions/_swrun $(DESTDIR)$(ZSH_COMPDIR)/_swrun
	install -D -m 0644 $(DOCS)/completions/swrun.fish $(DESTDIR)$(FISH_COMPDIR)/swrun.fish

# A Debian package (scripts/make-deb.sh): the static binary in /usr/bin, the man pages, the
# completions, the copyright file; `apt-get install ./swrun_*.deb` installs it (tests/vm/deb.sh).
deb: build docs
	scripts/make-deb.sh $(abspath $(BIN)) $(abspath $(DOCS)) $(VERSION) .

# Regenerate layout/swrun.order, the start path's link order (docs/performance.md, "Text
# layout"), after changes to the code the lifecycle verbs run; then rebuild.
layout: deps
	@command -v /usr/bin/time >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends time; }
	layout/generate.sh
	rm -f $(BIN)
	$(SWIFT) build $(RELEASE_FLAGS) 2>&1 | grep -v "statically linked applications requires at runtime" || true

clean:
	rm -rf .build .build-layout .build-fuzz $(BUNDLE) swrun_*.deb
