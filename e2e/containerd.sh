#!/bin/bash
# containerd end to end: a private containerd (own root, state and socket), an image built
# from busybox-static, and ctr driving swrun through containerd-shim-runc-v2 --runc-binary.
# With E2E_CGROUP_DRIVER=systemd (tests/vm/engines.sh) every container is started with
# --runc-systemd-cgroup (the shim's SystemdCgroup option: --systemd-cgroup on every runtime
# call) and a cgroupsPath of the form containerd's CRI plugin gives a kubelet's pod, and the
# scope's checks are added (e2e/lib.sh).
# Usage: [E2E_CGROUP_DRIVER=systemd] e2e/containerd.sh /abs/path/to/swrun (or runc)
set -u
. "$(dirname "$0")/lib.sh"
export -f traces
SWRUN=$1
W=$(mktemp -d /tmp/swrun-e2e-ctd.XXXXXX)
NS=swrun-e2e
SOCK=$W/containerd.sock
cleanup() {
    keep_logs "$W/containerd.log"
    [ -n "${CTD_PID:-}" ] && kill "$CTD_PID" 2>/dev/null && wait "$CTD_PID" 2>/dev/null
    umount -R "$W/state" "$W/root" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT
cat >"$W/config.toml" <<TOML
version = 2
root = "$W/root"
state = "$W/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
TOML
containerd --config "$W/config.toml" >"$W/containerd.log" 2>&1 &
CTD_PID=$!
wait_for "$SOCK" 30 || { echo "containerd did not start"; tail "$W/containerd.log"; exit 1; }
CTR="ctr --address $SOCK -n $NS"

make_rootfs "$W/rootfs"
make_oci_image "$W/rootfs" "$W/image.tar" "docker.io/library/swrun-e2e:latest"
$CTR images import "$W/image.tar" >/dev/null 2>&1 || { echo "image import failed"; $CTR images import "$W/image.tar"; exit 1; }
IMG=docker.io/library/swrun-e2e:latest
if systemd_driver; then
    # ctr takes the cgroupsPath as it is, and with --runc-systemd-cgroup wants one in the
    # systemd driver's "slice:prefix:name" form: here the one containerd's CRI plugin makes
    # for a kubelet with the systemd driver (a pod's slice, the prefix cri-containerd). The
    # unit is cri-containerd-ID.scope; its cgroup is under the pod's slice, expanded.
    POD=kubepods-besteffort-pode2e.slice
    R() { echo "--runc-binary $SWRUN --runc-systemd-cgroup --cgroup $POD:cri-containerd:$1"; }
    unit() { echo "cri-containerd-$1.scope"; }
    ucg() { echo "/kubepods.slice/kubepods-besteffort.slice/$POD/cri-containerd-$1.scope"; }
    pid_of() { $CTR task ls | awk -v id="$1" '$1 == id { print $2 }'; }
else
    # One cgroup per container, below containerd's (relative paths nest under the caller's).
    R() { echo "--runc-binary $SWRUN --cgroup swrun-e2e/$1"; }
fi

check "run /bin/true" $CTR run --rm $(R t1) $IMG t1 /bin/true
out=$($CTR run --rm $(R t2) $IMG t2 /bin/echo hello 2>&1)
check "output reaches ctr" [ "$out" = hello ]
$CTR run --rm $(R t3) $IMG t3 /bin/sh -c 'exit 3'; rc=$?
check "exit code 3 comes back" [ "$rc" = 3 ]
out=$($CTR run --rm $(R t4) $IMG t4 /nonexistent 2>&1); rc=$?
check "missing executable fails with no such file or directory" bash -c "[ $rc != 0 ] && grep -q 'no such file or directory' <<<'$out'"
$CTR container rm t4 >/dev/null 2>&1

check "detached run" $CTR run -d $(R d1) $IMG d1 /bin/sleep 300
sleep 0.5
check "state and cgroup of a running container are found" bash -c "traces d1 | grep -q state.json && traces d1 | grep -q /sys/fs/cgroup"
check "task is RUNNING" bash -c "$CTR task ls | grep -q 'd1 .*RUNNING'"
systemd_driver && check "scope $(unit d1) is active, the init in its cgroup" scope_runs "$(unit d1)" "$(ucg d1)" "$(pid_of d1)"
out=$($CTR task exec --exec-id e1 d1 /bin/sh -c 'echo in-$$' 2>&1)
check "exec without tty (in the container's pid namespace)" bash -c "[[ '$out' =~ ^in-[0-9]$ ]]"
$CTR task exec --exec-id e2 d1 /bin/sh -c 'exit 5'; rc=$?
check "exec exit code" [ "$rc" = 5 ]
out=$(on_tty "$CTR task exec -t --exec-id e3 d1 /bin/tty")
check "exec with tty" bash -c "grep -q /dev/pts/ <<<'$out'"
if systemd_driver; then
    check "detached exec" $CTR task exec -d --exec-id e4 d1 /bin/sleep 301
    check "the exec'd process is in the scope's cgroup" exec_in "$(ucg d1)" "/bin/sleep 301"
fi
check "ps lists the init" bash -c "$CTR task ps d1 | grep -q '^[0-9]'"
check "pause" $CTR task pause d1
check "status PAUSED" bash -c "$CTR task ls | grep -q 'd1 .*PAUSED'"
check "resume" $CTR task resume d1
check "kill (SIGTERM is not handled by a sleep as pid 1)" $CTR task kill -s SIGTERM d1
check "kill (SIGKILL)" $CTR task kill -s SIGKILL d1
sleep 0.5
check "task STOPPED after kill" bash -c "$CTR task ls | grep -q 'd1 .*STOPPED'"
check "task delete" $CTR task delete d1
$CTR container rm d1 >/dev/null
check "nothing left of d1 (state, cgroups)" bash -c "[ -z \"\$(traces d1)\" ]"
systemd_driver && check "scope $(unit d1) and its cgroup are gone" unit_gone "$(unit d1)" "$(ucg d1)"

if systemd_driver; then
    # Limits as unit properties: ctr's --memory-limit and --cpus (a quota of 50 ms per 100 ms).
    check "detached run with limits" $CTR run -d $(R l1) --memory-limit 67108864 --cpus 0.5 $IMG l1 /bin/sleep 300
    check "scope $(unit l1) is active, the init in its cgroup" scope_runs "$(unit l1)" "$(ucg l1)" "$(pid_of l1)"
    check "limits are the unit's properties (MemoryMax, CPUQuotaPerSecUSec)" unit_has "$(unit l1)" MemoryMax=67108864 CPUQuotaPerSecUSec=500ms
    check "and the scope's cgroup files (memory.max, cpu.max)" cgroup_has "$(ucg l1)" memory.max=67108864 "cpu.max=50000 100000"
    check "task delete --force of the limited task" $CTR task delete --force l1
    $CTR container rm l1 >/dev/null
    check "scope $(unit l1) and its cgroup are gone" unit_gone "$(unit l1)" "$(ucg l1)"
fi

out=$(on_tty "$CTR run --rm -t $(R tt1) $IMG tt1 /bin/sh -c 'tty; exit 4'"); 
check "tty run" bash -c "grep -q /dev/pts/0 <<<'$out'"

check "run for rm -f" $CTR run -d $(R f1) $IMG f1 /bin/sleep 300
sleep 0.3
check "task delete --force of a running task" $CTR task delete --force f1
$CTR container rm f1 >/dev/null
sleep 0.3
check "nothing left of f1 (state, cgroups)" bash -c "[ -z \"\$(traces f1)\" ]"
systemd_driver && check "scope $(unit f1) and its cgroup are gone" unit_gone "$(unit f1)" "$(ucg f1)"
check "no container process left" bash -c "! pgrep -f '^/bin/sleep 300$' >/dev/null"
finish
