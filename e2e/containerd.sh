#!/bin/bash
# containerd end to end: a private containerd (own root, state and socket), an image built
# from busybox-static, and ctr driving swrun through containerd-shim-runc-v2 --runc-binary.
# Usage: e2e/containerd.sh /abs/path/to/swrun
set -u
. "$(dirname "$0")/lib.sh"
export -f traces
SWRUN=$1
W=$(mktemp -d /tmp/swrun-e2e-ctd.XXXXXX)
NS=swrun-e2e
SOCK=$W/containerd.sock
cleanup() {
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
# One cgroup per container, below containerd's (relative paths nest under the caller's).
R() { echo "--runc-binary $SWRUN --cgroup swrun-e2e/$1"; }

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
out=$($CTR task exec --exec-id e1 d1 /bin/sh -c 'echo in-$$' 2>&1)
check "exec without tty (in the container's pid namespace)" bash -c "[[ '$out' =~ ^in-[0-9]$ ]]"
$CTR task exec --exec-id e2 d1 /bin/sh -c 'exit 5'; rc=$?
check "exec exit code" [ "$rc" = 5 ]
out=$(on_tty "$CTR task exec -t --exec-id e3 d1 /bin/tty")
check "exec with tty" bash -c "grep -q /dev/pts/ <<<'$out'"
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

out=$(on_tty "$CTR run --rm -t $(R tt1) $IMG tt1 /bin/sh -c 'tty; exit 4'"); 
check "tty run" bash -c "grep -q /dev/pts/0 <<<'$out'"

check "run for rm -f" $CTR run -d $(R f1) $IMG f1 /bin/sleep 300
sleep 0.3
check "task delete --force of a running task" $CTR task delete --force f1
$CTR container rm f1 >/dev/null
sleep 0.3
check "nothing left of f1 (state, cgroups)" bash -c "[ -z \"\$(traces f1)\" ]"
check "no container process left" bash -c "! pgrep -f '^/bin/sleep 300$' >/dev/null"
finish
