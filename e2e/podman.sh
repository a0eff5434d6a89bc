#!/bin/bash
# Podman end to end: private storage and run roots, a containers.conf that lists swrun in
# runtime_supports_json (so podman passes --log-format=json --log), an image imported from a
# busybox-static rootfs, `podman --runtime swrun`. cgroup_manager is cgroupfs, or systemd with
# E2E_CGROUP_DRIVER=systemd (tests/vm/engines.sh), which adds the scope's checks (e2e/lib.sh).
# Usage: [E2E_CGROUP_DRIVER=systemd] e2e/podman.sh /abs/path/to/swrun (or runc)
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
cgroup_manager = "$DRIVER"
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
# systemd: Podman's cgroupsPath is machine.slice:libpod:ID, the unit libpod-ID.scope.
unit() { echo "libpod-$1.scope"; }
ucg() { echo "/machine.slice/libpod-$1.scope"; }

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
systemd_driver && check "scope $(unit $ID1) is active, the init in its cgroup" scope_runs "$(unit $ID1)" "$(ucg $ID1)" "$($P inspect -f '{{.State.Pid}}' d1)"
out=$($P exec d1 /bin/echo in 2>&1)
check "exec" [ "$out" = in ]
out=$(on_tty "$P exec -t d1 /bin/tty")
check "exec with tty" bash -c "grep -q /dev/pts/ <<<'$out'"
if systemd_driver; then
    check "detached exec" $P exec -d d1 /bin/sleep 301
    check "the exec'd process is in the scope's cgroup" exec_in "$(ucg $ID1)" "/bin/sleep 301"
fi
check "top" bash -c "$P top d1 | grep -q 'sleep 300'"
check "pause" $P pause d1
check "paused" bash -c "[ \"\$($P inspect -f '{{.State.Status}}' d1)\" = paused ]"
check "unpause" $P unpause d1
check "stop" $P stop -t 1 d1
check "rm" $P rm d1
check "nothing left of d1 (state, cgroups)" bash -c "[ -z \"\$(traces $ID1)\" ]"
if systemd_driver; then
    check "scope $(unit $ID1) and its cgroup are gone" unit_gone "$(unit $ID1)" "$(ucg $ID1)"
    # Limits as unit properties: --cpus 0.5 is a quota of 50 ms per 100 ms.
    check "detached run with --memory 64m --pids-limit 50 --cpus 0.5" $R -d --name l1 --memory 64m --pids-limit 50 --cpus 0.5 swrun-e2e /bin/sleep 300
    IDL=$($P inspect -f "{{.Id}}" l1)
    check "scope $(unit $IDL) is active, the init in its cgroup" scope_runs "$(unit $IDL)" "$(ucg $IDL)" "$($P inspect -f '{{.State.Pid}}' l1)"
    check "limits are the unit's properties (MemoryMax, TasksMax, CPUQuotaPerSecUSec)" unit_has "$(unit $IDL)" MemoryMax=67108864 TasksMax=50 CPUQuotaPerSecUSec=500ms
    check "and the scope's cgroup files (memory.max, pids.max, cpu.max)" cgroup_has "$(ucg $IDL)" memory.max=67108864 pids.max=50 "cpu.max=50000 100000"
    check "update --memory 128m --cpus 0.25" $P update --memory 128m --cpus 0.25 l1
    check "update set the unit's MemoryMax and CPUQuotaPerSecUSec" unit_has "$(unit $IDL)" MemoryMax=134217728 CPUQuotaPerSecUSec=250ms
    check "and the files (memory.max, cpu.max)" cgroup_has "$(ucg $IDL)" memory.max=134217728 "cpu.max=25000 100000"
    check "rm -f of the limited container" $P rm -f -t 0 l1
    check "scope $(unit $IDL) and its cgroup are gone" unit_gone "$(unit $IDL)" "$(ucg $IDL)"
fi
check "detached run for rm -f" $R -d --name f1 swrun-e2e /bin/sleep 300
IDF=$($P inspect -f "{{.Id}}" f1)
check "rm -f of a running container" $P rm -f -t 0 f1
systemd_driver && check "scope $(unit $IDF) and its cgroup are gone" unit_gone "$(unit $IDF)" "$(ucg $IDF)"
sleep 0.3
check "no container process left" bash -c "! pgrep -f '^/bin/sleep 300\$' >/dev/null"
finish
