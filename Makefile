# swrun: build, demo, test, install.
#   make demo      install what is missing, build, make the busybox bundle, run a container
#   make test      install what is missing, build, run unit and integration tests
#   make conformance  the in-container conformance matrix alone (docs/conformance.md)
#   make vm-image  build or refresh the cached test VM (vm/build.sh, docs/vm.md)
#   make vm-test   every VM suite (tests/vm/) in the test VM; ends "N passed, M failed"
#   make fuzz      the config and CLI fuzzers, FUZZ_TIME seconds each (FUZZ_RUNS=N: N inputs)
#   make bench     swrun vs crun vs runc (bench/run.sh)
#   make layout    regenerate the start path's link order (layout/generate.sh)
#   make install PREFIX=/usr/local
SHELL := /bin/bash
PREFIX ?= /usr/local
SWIFT ?= swift
RELEASE_FLAGS := -c release -Xswiftc -static-executable
BIN := .build/release/swrun
PROBE := .build/probe/swrun-probe
CONFORM := .build/release/swrun-conformance
BUNDLE := bundle
# Debian packages the build, the bundle and the tests need. The test VM (vm/, docs/vm.md):
# qemu-system-x86 runs it; mmdebstrap, e2fsprogs, xz-utils, cpio and busybox-static build its
# image, kernel and initramfs; util-linux gives flock and setpriv; uidmap gives newuidmap and
# newgidmap (the rootless tests, docs/rootless.md).
DEPS := libseccomp-dev libcap-dev busybox-static pkg-config gcc libc6-dev iproute2 util-linux \
	qemu-system-x86 xz-utils mmdebstrap e2fsprogs cpio uidmap

# Engines for the end-to-end tests (make e2e); uidmap for rootless Podman.
E2E_DEPS := containerd docker.io podman bsdutils uidmap

.PHONY: all deps e2e-deps build probe bundle demo test unit conformance vm-image vm-test fuzz e2e bench layout install clean lint

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
	$(SWIFT) build $(RELEASE_FLAGS) 2>&1 | grep -v "statically linked applications requires at runtime" || true
	@test -x $(BIN) && $(BIN) --version | head -1

probe: $(PROBE)
$(PROBE): Tests/Probe/swrun-probe.c
	@mkdir -p $(dir $(PROBE))
	gcc -static -O2 -Wall -o $@ $<

bundle: build probe
	scripts/make-bundle.sh $(abspath $(BIN)) $(abspath $(PROBE)) $(BUNDLE)

demo: bundle
	@echo "== swrun run demo (bundle: $(BUNDLE))"
	$(BIN) --root /run/swrun-demo run -b $(BUNDLE) swrun-demo-$$$$

lint:
	@! grep -rnE '^import (Foundation|Dispatch)$$' Sources/ || (echo "Foundation/Dispatch imported in the runtime"; exit 1)
	@! grep -rnE 'Task \{|async |await ' Sources/ || (echo "async code in the runtime"; exit 1)
	@! grep -rnE 'try!' Sources/ || (echo "try! in the runtime"; exit 1)

# The test VM (docs/vm.md): Debian's kernel and a Debian 12 image with systemd, pure cgroup v2
# and AppArmor, built once into $${SWRUN_VM_CACHE:-/var/cache/swrun-vm} and rebuilt when what
# it is built from changes (about a minute and a half from nothing).
vm-image: deps
	vm/build.sh

# Every suite under tests/vm/, each in a fresh VM, with the static swrun and probe; the last
# line is "N passed, M failed" over all of them.
vm-test: build probe vm-image
	vm/test.sh $(abspath $(BIN)) $(abspath $(PROBE))

unit: deps
	$(SWIFT) test --filter 'OCISpecTests|SwrunCoreTests'

TEST_ENV = SWRUN_BIN=$(abspath $(BIN)) SWRUN_PROBE=$(abspath $(PROBE)) SWRUN_CONFORMANCE=$(abspath $(CONFORM))

# The VM suites (VMSuiteTests, which drives vm/test.sh and builds the VM image first when it
# is missing or stale) run after the others rather than beside them: the VM keeps both of a
# 2-core machine's cores busy. Both runs happen whatever the first one says.
test: lint build probe
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
# BENCH_N scale it; the table goes to bench/results.md.
bench: build
	@for p in runc crun python3 /usr/bin/time; do command -v $$p >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends runc crun python3 time; break; }; done
	bench/run.sh $(abspath $(BIN)) bench/results.md
	@cat bench/results.md

install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/swrun

# Regenerate layout/swrun.order, the start path's link order (docs/performance.md, "Text
# layout"), after changes to the code the lifecycle verbs run; then rebuild.
layout: deps
	@command -v /usr/bin/time >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends time; }
	layout/generate.sh
	rm -f $(BIN)
	$(SWIFT) build $(RELEASE_FLAGS) 2>&1 | grep -v "statically linked applications requires at runtime" || true

clean:
	rm -rf .build .build-layout .build-fuzz $(BUNDLE)
