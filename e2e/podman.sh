#!/bin/bash
# Podman end to end: private storage and run roots, cgroupfs, a containers.conf that lists
# swrun in runtime_supports_json (so podman passes --log-format=json --log), an image
# imported from a busybox-static rootfs, `podman --runtime swrun`.
# Usage: e2e/podman.sh /abs/path/to/swrun
set -u
. "$(dirname "$0")/lib.sh"
export -f traces
SWRUN=$1
W=$(mktemp -d /tmp/swrun-e2e-pdm.XXXXXX)
cat >"$W/containers.conf" <<CONF
[containers]
# This host lacks CAP_SYS_RESOURCE with hard limits below podman's 1048576 defaults (runc and
# crun fail the same way without this; see shared/docs/CLIENTS.md).
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime_supports_json = ["crun", "runc", "swrun"]
CONF
export CONTAINERS_CONF=$W/containers.conf
P="podman --root $W/storage --runroot $W/run --tmpdir $W/tmp --runtime $SWRUN --storage-driver overlay"
cleanup() {
    $P rm -af -t 0 >/dev/null 2>&1
    umount -R "$W/storage" "$W/run" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT
make_rootfs "$W/rootfs"
tar -C "$W/rootfs" -cf "$W/rootfs.tar" .
$P import "$W/rootfs.tar" swrun-e2e >/dev/null 2>&1 || { echo "import failed"; $P import "$W/rootfs.tar" swrun-e2e; exit 1; }
R="$P run --network none"

check "run /bin/true" $R --rm swrun-e2e /bin/true
out=$($R --rm swrun-e2e /bin/echo hello 2>&1)
check "output" [ "$out" = hello ]
$R --rm swrun-e2e /bin/sh -c 'exit 3'; rc=$?
check "exit code 3" [ "$rc" = 3 ]
$R --rm swrun-e2e /nonexistent >/dev/null 2>&1; rc=$?
check "missing executable exits 127" [ "$rc" = 127 ]
out=$(on_tty "$R --rm -t swrun-e2e /bin/tty")
check "tty run" bash -c "grep -q /dev/pts/0 <<<'$out'"
check "detached run" $R -d --name d1 swrun-e2e /bin/sleep 300
ID1=$($P inspect -f "{{.Id}}" d1)
check "state and cgroup of a running container are found" bash -c "traces $ID1 | grep -q state.json && traces $ID1 | grep -q /sys/fs/cgroup"
out=$($P exec d1 /bin/echo in 2>&1)
check "exec" [ "$out" = in ]
out=$(on_tty "$P exec -t d1 /bin/tty")
check "exec with tty" bash -c "grep -q /dev/pts/ <<<'$out'"
check "top" bash -c "$P top d1 | grep -q 'sleep 300'"
check "pause" $P pause d1
check "paused" bash -c "[ \"\$($P inspect -f '{{.State.Status}}' d1)\" = paused ]"
check "unpause" $P unpause d1
check "stop" $P stop -t 1 d1
check "rm" $P rm d1
check "nothing left of d1 (state, cgroups)" bash -c "[ -z \"\$(traces $ID1)\" ]"
check "detached run for rm -f" $R -d --name f1 swrun-e2e /bin/sleep 300
check "rm -f of a running container" $P rm -f -t 0 f1
sleep 0.3
check "no container process left" bash -c "! pgrep -f '^/bin/sleep 300\$' >/dev/null"
finish
