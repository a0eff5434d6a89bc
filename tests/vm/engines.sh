#!/bin/sh
# containerd, Docker and Podman, unchanged, on swrun with the systemd cgroup driver, as a
# systemd host with pure cgroup v2 runs them: `make e2e`'s checks (e2e/containerd.sh,
# e2e/docker.sh, e2e/podman.sh) with E2E_CGROUP_DRIVER=systemd, which configures each engine
# for systemd (ctr run --runc-systemd-cgroup; dockerd native.cgroupdriver=systemd with swrun
# in daemon.json; podman cgroup_manager = "systemd") and adds the scope's checks: it is
# active while the container runs with the init in its cgroup, the limits are the unit's
# properties and the cgroup's files, and the unit and its cgroup are gone after removal.
#
# The same checks run against the engines' own runc (Debian's runc 1.1.5) with
# SWRUN_VM_ENGINES_RUNTIMES="swrun runc": every check is one runc passes too, not one written
# to fit swrun. That doubles the suite's time (about 13 minutes instead of 5 to 7 under TCG), so
# it is not the default; docs/vm.md has the last comparison.
#
# Runs INSIDE the project's VM (vm/test.sh --suite engines), as root. Usage: engines.sh SWRUN PROBE
# SWRUN_VM_ENGINES_RUNTIMES (default "swrun"; "runc" or "crun" are taken from the PATH) and
# SWRUN_VM_ENGINES_LIST (default "containerd docker podman") choose what runs; vm/test.sh
# passes neither into the VM, so set them with vm/run.sh --env. Prints PASS/FAIL lines and
# "N passed, M failed".
[ -n "${BASH_VERSION:-}" ] || exec /bin/bash "$0" "$@"
set -u
pass=0 fail=0
ok()  { echo "PASS: $*"; pass=$((pass+1)); }
bad() { echo "FAIL: $*"; fail=$((fail+1)); }
finish() { echo "$pass passed, $fail failed"; [ "$fail" = 0 ]; exit; }
E2E=$(cd "$(dirname "$0")/../../e2e" && pwd)
RUNTIMES=${SWRUN_VM_ENGINES_RUNTIMES:-swrun}
ENGINES=${SWRUN_VM_ENGINES_LIST:-containerd docker podman}
LOGS=${SWRUN_VM_RESULTS:-/tmp/engines-results}
mkdir -p "$LOGS"

# What the checks stand on; a missing piece fails here, visibly, rather than as 30 failures.
[ "$(cat /proc/1/comm)" = systemd ] || bad "systemd is not PID 1"
grep -q '^cgroup2 /sys/fs/cgroup cgroup2' /proc/self/mounts && [ -z "$(awk '$3 == "cgroup"' /proc/self/mounts)" ] ||
	bad "not a pure cgroup v2 host"
missing=""
for t in containerd ctr containerd-shim-runc-v2 dockerd docker podman conmon runc busybox script; do
	command -v $t >/dev/null || missing="$missing $t"
done
[ -z "$missing" ] || bad "not installed in the VM image:$missing (built with SWRUN_VM_ENGINES=0?)"
[ "$fail" = 0 ] || finish
# swrun installed as a user would: a local file, not the 9p share.
install -m 755 "$1" /usr/local/bin/swrun || { bad "cannot install $1 as /usr/local/bin/swrun"; finish; }
echo "$(uname -r); $(swrun --version | head -n1); $(runc --version | head -n1); containerd $(containerd --version | cut -d' ' -f3); dockerd $(dockerd --version | cut -d' ' -f3-); podman $(podman --version | cut -d' ' -f3); systemd $(systemctl --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p')"

for engine in $ENGINES; do
	for rt in $RUNTIMES; do
		case $rt in
		swrun) bin=/usr/local/bin/swrun ;;
		*) bin=$(command -v "$rt") || { bad "[$engine $rt] $rt is not installed"; continue; } ;;
		esac
		tag="$engine $rt"
		echo "=== $tag (systemd cgroup driver)"
		start=$(date +%s)
		# Each engine's run is bounded, so that one that hangs still leaves the others' results.
		E2E_CGROUP_DRIVER=systemd E2E_LOGS="$LOGS/$engine-$rt" timeout -k 10 420 bash "$E2E/$engine.sh" "$bin" 2>&1 |
			sed -u -E "s/^(PASS|FAIL): /\\1: [$tag] /; s/^([0-9]+ passed, [0-9]+ failed)\$/--- $tag: \\1/" |
			tee "$LOGS/$engine-$rt.out"
		rc=${PIPESTATUS[0]}
		secs=$(($(date +%s) - start))
		line=$(grep -E "^--- $tag: [0-9]+ passed, [0-9]+ failed\$" "$LOGS/$engine-$rt.out" | tail -n1)
		if [ -z "$line" ]; then
			bad "[$tag] ended without a summary (exit status $rc$([ "$rc" = 124 ] && echo ': timed out'), $secs s)"
			continue
		fi
		line=${line#"--- $tag: "}
		p=${line%% passed*} f=${line#*passed, }; f=${f%% failed}
		pass=$((pass + p)) fail=$((fail + f))
		[ "$rc" = 0 ] || [ "$f" != 0 ] || bad "[$tag] exited $rc with nothing failed"
		echo "--- $tag: $secs s"
	done
done

# Whatever ran, no engine's scope is left behind.
left=$(systemctl list-units --all --plain --no-legend 'docker-*.scope' 'libpod-*.scope' 'cri-containerd-*.scope' 2>&1)
[ -z "$left" ] && ok "no container scope left (docker-*, libpod-*, cri-containerd-*)" || bad "scopes left: $left"
finish
