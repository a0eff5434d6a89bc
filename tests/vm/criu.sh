#!/bin/sh
# Checkpoint and restore (CRIU) with swrun. Runs INSIDE the project's VM (vm/run.sh;
# vm/test.sh runs it), as root, where Debian's kernel and criu 3.17 match (`criu check`
# says "Looks good"). Containers' cgroups lie below $SWRUN_VM_CGROUP.
# Usage: criu.sh SWRUN PROBE
# Covers: a counter checkpointed and restored goes on; --leave-running; checkpoint, delete,
# restore under a new id; pre-dump then dump; a terminal through --console-socket; an
# established loopback TCP connection (--tcp-established); the errors (paused, created,
# stopped, no criu); the systemd cgroup driver; Podman's container checkpoint/restore (and --export/--import) with
# --runtime swrun; `ctr task checkpoint` through containerd's runc shim. The RPC exchanges
# of runc and swrun with criu are recorded (tests/vm/criu-record.py) into
# $SWRUN_VM_RESULTS/rpc/, the source of the unit tests' fixtures.
# Prints PASS/FAIL lines and "N passed, M failed"; exits non-zero if anything failed.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../e2e/lib.sh"   # make_rootfs, make_oci_image (the engines' image)
pass=0 fail=0
ok()  { echo "PASS: $*"; pass=$((pass+1)); }
bad() { echo "FAIL: $*"; fail=$((fail+1)); }
finish() { echo "$pass passed, $fail failed"; [ $fail = 0 ]; exit $?; }
[ -n "${SWRUN_VM_CGROUP:-}" ] || { bad "not in the VM (no SWRUN_VM_CGROUP)"; finish; }
W=/tmp/swrun-criu
rm -rf $W
mkdir -p $W
cp "$1" $W/swrun
PROBE=$2
SW="$W/swrun --root $W/state"
cp "$PROBE" $W/probe
R=${SWRUN_VM_RESULTS:-$W/results}
mkdir -p "$R"
P=$SWRUN_VM_CGROUP/swrun-criu
echo "kernel $(uname -r); $(criu --version | head -n1); criu check: $(criu check 2>&1 | tail -n1)"

# bundle DIR ARGS_JSON [TERMINAL]: a busybox rootfs and `swrun spec`'s config (runc's
# default: every namespace of its own, masked and read-only paths, /dev, cgroup mounts),
# with the given process and a cgroup below the job's.
bundle() {
	local d=$1
	mkdir -p $d/rootfs/bin $d/rootfs/etc $d/rootfs/tmp
	cp /bin/busybox $d/rootfs/bin/busybox
	for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox $d/rootfs/bin/$a; done
	cp "$PROBE" $d/rootfs/bin/swrun-probe
	echo 'root:x:0:0:root:/root:/bin/sh' > $d/rootfs/etc/passwd
	(cd $d && $W/swrun spec)
	python3 - "$d/config.json" "$2" "${3:-false}" "$P/${d##*/}" <<'PY'
import json, sys
path, args, terminal, cg = sys.argv[1:5]
c = json.load(open(path))
c["process"]["args"] = json.loads(args)
c["process"]["terminal"] = terminal == "true"
c["linux"]["cgroupsPath"] = cg
json.dump(c, open(path, "w"), indent=1)
PY
}

# logs DIR: the errors in CRIU's logs there, after a failure.
logs() { for f in "$1"/*.log; do [ -f "$f" ] && { echo "--- $f"; grep -n -B3 Error "$f" | tail -n 20; }; done; }

state() { $SW state "$1" 2>/dev/null | sed -n 's/.*"status": "\([a-z]*\)".*/\1/p'; }
is() { [ "$(state "$1")" = "$2" ]; }
pidof_c() { $SW state "$1" 2>/dev/null | sed -n 's/.*"pid": \([0-9]*\).*/\1/p'; }

# wait_until SECONDS COMMAND...: polls COMMAND every 0.1 s (TCG is slow: bounds are loose).
wait_until() {
	local n=$(( $1 * 10 )); shift
	while [ $n -gt 0 ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; n=$((n-1)); done
	return 1
}

# count ID [FILE]: the number the container last wrote to FILE (/dev/shm/count).
count() { $SW exec "$1" sh -c "tail -n1 ${2:-/dev/shm/count}" 2>&1; }
# at_least ID N [FILE]: the container's counter has reached N.
at_least() { local c; c=$(count "$1" "${3:-/dev/shm/count}"); [ "$c" -ge "$2" ] 2>/dev/null; }
counted() { at_least "$1" 1 "${2:-/dev/shm/count}"; }
# number TEXT: TEXT if it is a number, else 0.
number() { case "$1" in ''|*[!0-9]*) echo 0 ;; *) echo "$1" ;; esac; }

# run_piped ID BUNDLE: `swrun run -d` with its stdio on pipes (CRIU restores pipes through
# inherit_fd; a host file would be outside the container). The pipes' other ends (a sleep,
# and a cat into $W/ID.out) stay after swrun returns.
run_piped() {
	(cd $2 && sleep 1000 | $SW run -d "$1" 2>&1 | cat > $W/$1.out &)
	wait_until 30 is "$1" running
}

# restore_piped ID BUNDLE ARGS...: `swrun restore -d ARGS... ID` with stdio on new pipes (its
# own errors in $W/ID.err); fails with what swrun said.
restore_piped() {
	local id=$1 b=$2 rc; shift 2
	rm -f $W/$id.rc
	(cd $b && sleep 1000 | { ${RESTORER:-$SW} restore -d "$@" "$id"; echo $? > $W/$id.rc; } 2>$W/$id.err | cat >> $W/$id.out &)
	wait_until 120 test -s $W/$id.rc
	rc=$(cat $W/$id.rc 2>/dev/null)
	[ "$rc" = 0 ] || { echo "restore exited '$rc': $(cat $W/$id.err)"; return 1; }
}

T0=$(date +%s)
section() { echo "--- $* ($(( $(date +%s) - T0 )) s)"; }
COUNTER='["/bin/sh","-c","i=0; while :; do i=$((i+1)); echo $i >> /dev/shm/count; sleep 0.1; done"]'

t_counter() {
section "a counter, checkpointed and restored, goes on"
bundle $W/b1 "$COUNTER"
run_piped c1 $W/b1 && ok "counter container runs" || bad "counter container: $(cat $W/c1.out)"
wait_until 30 counted c1
before=$(number "$(count c1)")
if out=$($SW checkpoint --image-path $W/img1 --work-path $W/work1 c1 2>&1); then
	ok "checkpoint (counter at $before)"
else
	bad "checkpoint: $out"; logs $W/work1
fi
[ -z "$(state c1)" ] && ok "the checkpointed container is gone (state fails, as runc's)" || bad "state after checkpoint: $(state c1)"
[ ! -d /sys/fs/cgroup$P/b1 ] && ok "its cgroup is gone" || bad "cgroup left after checkpoint"
grep -q '"pipe:\[' $W/img1/descriptors.json && ok "descriptors.json names the stdio pipes: $(cat $W/img1/descriptors.json)" || bad "descriptors.json: $(cat $W/img1/descriptors.json 2>&1)"
if restore_piped c1 $W/b1 --image-path $W/img1 --work-path $W/work1; then ok "restore -d"; else bad "restore"; logs $W/work1; fi
[ "$(state c1)" = running ] && ok "the restored container is running" || bad "state after restore: $($SW state c1 2>&1)"
wait_until 20 at_least c1 $((before + 5))
after=$(count c1)
[ "$after" -gt "$before" ] 2>/dev/null && ok "the counter goes on: $before at the checkpoint, $after now" || bad "counter: '$before' at the checkpoint, '$after' now"
first=$($SW exec c1 head -n1 /dev/shm/count)
[ "$first" = 1 ] && ok "its files are the ones it wrote before (first line $first)" || bad "first line '$first'"
pid=$(pidof_c c1)
grep -q "$P/b1\$" /proc/$pid/cgroup && ok "the restored init is in the container's cgroup ($(cat /proc/$pid/cgroup))" || bad "cgroup of the restored init: $(cat /proc/$pid/cgroup 2>&1)"
[ "$(readlink /proc/$pid/ns/net)" != "$(readlink /proc/self/ns/net)" ] && [ "$(readlink /proc/$pid/ns/pid)" != "$(readlink /proc/self/ns/pid)" ] && ok "in namespaces of its own" || bad "namespaces"
out=$($SW exec c1 sh -c 'echo $$; cat /proc/1/cmdline | tr "\0" " "; grep -c . /proc/self/mountinfo' 2>&1)
case "$out" in *"/bin/sh -c i=0"*) ok "exec into the restored container: $(echo $out)" ;; *) bad "exec: $out" ;; esac
# opts MOUNTPOINT: the per-mount options of MOUNTPOINT in the container.
opts() { $SW exec c1 awk -v m="$1" '$5 == m { print $6 }' /proc/self/mountinfo | tail -n1; }
out=$($SW exec c1 sh -c 'ip link show lo | head -n1; cat /proc/kcore | wc -c; touch /x; ls /sys/fs/cgroup/cgroup.procs' 2>&1)
case "$out" in *"LOOPBACK,UP"*"0"*"/x"*Read-only*"/sys/fs/cgroup/cgroup.procs"*) ok "restored: masked /proc/kcore, read-only root, loopback up, the cgroup mount: $(echo $out)" ;; *) bad "restored mounts: $out" ;; esac
o1=$(opts /); o2=$(opts /proc/sys); o3=$(opts /sys); o4=$(opts /proc/kcore)
case "$o1 $o2 $o3" in ro,*" "ro,*" "ro,*) ok "read-only mounts: / $o1, /proc/sys $o2, /sys $o3; /proc/kcore $o4" ;; *) bad "mount options: / $o1, /proc/sys $o2, /sys $o3" ;; esac
$SW ps c1 | grep -q sleep && ok "ps" || bad "ps: $($SW ps c1 2>&1)"
$SW pause c1 && [ "$(state c1)" = paused ] && $SW resume c1 && [ "$(state c1)" = running ] && ok "pause and resume" || bad "pause/resume: $(state c1)"
# A second round from the restored container.
if out=$($SW checkpoint --image-path $W/img1b --work-path $W/work1b c1 2>&1) && restore_piped c1 $W/b1 --image-path $W/img1b --work-path $W/work1b; then
	ok "checkpoint and restore of the restored container"
else
	bad "second round: $out"; logs $W/work1b
fi
$SW kill c1 KILL && wait_until 10 is c1 stopped && ok "kill of the restored container" || bad "kill: $(state c1)"
$SW delete c1 && [ ! -d /sys/fs/cgroup$P/b1 ] && [ ! -d $W/state/c1 ] && ok "delete removes it, its cgroup and state" || bad "delete"

}

t_leave() {
section "--leave-running"
bundle $W/b2 "$COUNTER"
run_piped c2 $W/b2 && wait_until 30 counted c2
pid=$(pidof_c c2)
if out=$($SW checkpoint --leave-running --image-path $W/img2 c2 2>&1); then ok "checkpoint --leave-running"; else bad "checkpoint --leave-running: $out"; logs $W/img2; fi
n1=$(number "$(count c2)"); sleep 1; n2=$(number "$(count c2)")
[ "$(state c2)" = running ] && [ "$(pidof_c c2)" = "$pid" ] && [ "$n2" -gt "$n1" ] 2>/dev/null && ok "the container runs on, same init ($n1, then $n2)" || bad "after --leave-running: $(state c2) pid $(pidof_c c2) (was $pid), $n1 then $n2"
[ -f $W/img2/inventory.img ] && [ -f $W/img2/dump.log ] && ok "images and log in --image-path (no --work-path)" || bad "image directory: $(ls $W/img2)"

}

t_newid() {
section "checkpoint, delete, restore under a new id"
$SW delete -f c2 && [ -z "$(state c2)" ] && ok "delete -f of the checkpointed container" || bad "delete -f c2"
# Another bundle (a copy), with another cgroupsPath: CRIU is given the new cgroup as the root
# of the restored ones (cg_root), and the old one is not made again.
cp -a $W/b2 $W/b2x
python3 -c 'import json,sys; p=sys.argv[1]; c=json.load(open(p)); c["linux"]["cgroupsPath"]=sys.argv[2]; json.dump(c,open(p,"w"))' $W/b2x/config.json $P/b2x
if restore_piped c2-new $W/b2x --image-path $W/img2 --work-path $W/work2; then ok "restore as c2-new, from another bundle"; else bad "restore as c2-new"; logs $W/work2; fi
[ "$(state c2-new)" = running ] && $SW list -q | grep -qx c2-new && ok "c2-new is listed and running" || bad "c2-new: $($SW list)"
wait_until 20 at_least c2-new $((n1 + 1)) && ok "its counter goes on from the checkpoint ($(count c2-new))" || bad "c2-new counter: $(count c2-new)"
pid=$(pidof_c c2-new)
grep -q "$P/b2x\$" /proc/$pid/cgroup && [ ! -d /sys/fs/cgroup$P/b2 ] && ok "restored into the new cgroup ($(cat /proc/$pid/cgroup)), the old one not made again" || bad "cgroup after restore under a new id: $(cat /proc/$pid/cgroup); $(ls /sys/fs/cgroup$P)"
$SW delete -f c2-new && [ ! -d /sys/fs/cgroup$P/b2x ] && ok "delete -f c2-new" || bad "delete -f c2-new"

}

t_predump() {
section "pre-dump, then dump"
# Transparent huge pages off for this part, so that memory tracking (soft-dirty) works page
# by page: a huge page that khugepaged makes between the two dumps would count as changed.
thp=$(sed -n 's/.*\[\(.*\)\].*/\1/p' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)
[ -n "$thp" ] && echo never > /sys/kernel/mm/transparent_hugepage/enabled
# 16 MiB in the shell's own memory (what a pre-dump saves); its length is asked for after
# the restore.
# The loop must not read x: busybox sh copies a variable's value to take its length, which
# would dirty all 16 MiB every round; its length is written once, on SIGUSR1.
bundle $W/b3 '["/bin/sh","-c","x=$(head -c 16777216 /dev/zero | tr \"\\0\" x); trap \"echo \\${#x} > /dev/shm/len\" USR1; i=0; while :; do i=$((i+1)); echo $i >> /dev/shm/count; sleep 0.1; done"]'
run_piped c3 $W/b3 && wait_until 30 counted c3
mkdir -p $W/img3
if out=$($SW checkpoint --pre-dump --image-path $W/img3/parent c3 2>&1); then ok "checkpoint --pre-dump"; else bad "pre-dump: $out"; logs $W/img3/parent; fi
[ "$(state c3)" = running ] && ok "the container runs on after the pre-dump" || bad "after pre-dump: $(state c3)"
if out=$($SW checkpoint --parent-path ../parent --image-path $W/img3/final --work-path $W/work3 c3 2>&1); then ok "checkpoint --parent-path ../parent"; else bad "dump after pre-dump: $out"; logs $W/work3; fi
[ -L $W/img3/final/parent ] && ok "the dump links its parent ($(readlink $W/img3/final/parent))" || bad "no parent link: $(ls -l $W/img3/final | head)"
# pages_kb DIR: the memory pages a dump wrote (pages-*.img), in kB.
pages_kb() { cat "$1"/pages-*.img 2>/dev/null | wc -c | awk '{ print int($1 / 1024) }'; }
pre=$(pages_kb $W/img3/parent); fin=$(pages_kb $W/img3/final)
[ "$pre" -ge 16384 ] && [ "$fin" -lt $((pre / 2)) ] && ok "the final dump holds only what changed (${fin} kB of pages after ${pre} kB in the pre-dump)" || bad "pages: final dump ${fin} kB, pre-dump ${pre} kB"
if restore_piped c3 $W/b3 --image-path $W/img3/final --work-path $W/work3; then ok "restore from pre-dump + dump"; else bad "restore c3"; logs $W/work3; fi
$SW kill c3 USR1
wait_until 20 $SW exec c3 test -s /dev/shm/len
[ "$($SW exec c3 cat /dev/shm/len 2>&1)" = 16777216 ] && ok "pre-dumped memory restored (the shell's 16 MiB string)" || bad "len: $($SW exec c3 cat /dev/shm/len 2>&1)"
out=$($SW checkpoint --parent-path $W/img3/parent --image-path $W/img3/x c3 2>&1) && bad "an absolute --parent-path was accepted" || { case "$out" in *"--parent-path must be relative"*) ok "absolute --parent-path refused: $out" ;; *) bad "absolute --parent-path: $out" ;; esac; }
out=$($SW checkpoint --parent-path ../nope --image-path $W/img3/y c3 2>&1) && bad "a missing --parent-path was accepted" || { case "$out" in *"invalid --parent-path"*) ok "missing --parent-path refused: $out" ;; *) bad "missing --parent-path: $out" ;; esac; }
$SW delete -f c3
[ -n "$thp" ] && echo "$thp" > /sys/kernel/mm/transparent_hugepage/enabled

}

t_tty() {
section "a terminal through --console-socket"
bundle $W/b4 '["/bin/sh","-c","i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.2; done"]' true
$W/probe recvtty $W/tty1.sock > $W/tty1.out 2>&1 &
wait_until 10 test -S $W/tty1.sock
(cd $W/b4 && $SW run -d --console-socket $W/tty1.sock c4 </dev/null >/dev/null 2>&1)
wait_until 30 grep -q "tick 5" $W/tty1.out && ok "the terminal's output reaches the console socket" || bad "tty run: $(cat $W/tty1.out)"
if out=$($SW checkpoint --image-path $W/img4 c4 2>&1); then ok "checkpoint of a container with a terminal"; else bad "checkpoint c4: $out"; logs $W/img4; fi
last=$(grep -o 'tick [0-9]*' $W/tty1.out | tail -n1 | cut -d' ' -f2)
$W/probe recvtty $W/tty2.sock > $W/tty2.out 2>&1 &
wait_until 10 test -S $W/tty2.sock
out=$(cd $W/b4 && $SW restore -d --console-socket $W/tty2.sock --image-path $W/img4 c4 2>&1 </dev/null) && ok "restore --console-socket" || { bad "restore c4: $out"; logs $W/img4; }
wait_until 30 sh -c "grep -q 'tick $((last + 5))' $W/tty2.out" && ok "the restored terminal reaches the new console socket (tick $last, then $(grep -o 'tick [0-9]*' $W/tty2.out | head -n1))" || bad "restored tty: last $last; $(head -c 300 $W/tty2.out)"
$SW exec c4 sh -c 'tty; [ -t 0 ]' </dev/null 2>&1 | grep -q . && ok "the restored init's stdio is a terminal" || bad "tty after restore"
$SW delete -f c4

}

t_tcp() {
section "an established loopback TCP connection (--tcp-established)"
bundle $W/b5 '["/bin/sh","-c","nc -ll -p 5000 -e /bin/cat & sleep 1; i=0; while :; do i=$((i+1)); echo $i; sleep 0.2; done | nc 127.0.0.1 5000 > /dev/shm/tcp"]'
run_piped c5 $W/b5 && wait_until 30 counted c5 /dev/shm/tcp && ok "echo server and client connected ($(count c5 /dev/shm/tcp) lines echoed)" || bad "tcp container: $(count c5 /dev/shm/tcp)"
out=$($SW checkpoint --image-path $W/img5a c5 2>&1) && bad "a checkpoint without --tcp-established succeeded" || {
	[ "$(state c5)" = running ] && ok "without --tcp-established the checkpoint fails and the container runs on: $(echo "$out" | tail -c 200)" || bad "after a failed checkpoint: $(state c5)"; }
if out=$($SW checkpoint --tcp-established --image-path $W/img5 c5 2>&1); then ok "checkpoint --tcp-established"; else bad "checkpoint --tcp-established: $out"; logs $W/img5; fi
if restore_piped c5 $W/b5 --tcp-established --image-path $W/img5; then ok "restore --tcp-established"; else bad "restore --tcp-established"; logs $W/img5; fi
a=$(number "$(count c5 /dev/shm/tcp)"); wait_until 20 at_least c5 $((a + 3)) /dev/shm/tcp; b=$(number "$(count c5 /dev/shm/tcp)")
[ "$b" -gt "$a" ] 2>/dev/null && ok "the connection carries on after the restore ($a, then $b)" || bad "tcp after restore: $a then $b; $($SW exec c5 sh -c 'netstat -tn; ps' 2>&1)"
$SW delete -f c5

}

t_errors() {
section "errors"
bundle $W/b6 '["/bin/sleep","1000"]'
run_piped c6 $W/b6
# A paused container is checkpointed as runc checkpoints it (containerd pauses a task first).
$SW pause c6
if out=$($SW checkpoint --leave-running --image-path $W/img6p c6 2>&1); then
	is c6 paused && ok "a paused container: checkpointed, and left paused" || bad "after a paused checkpoint: $(state c6)"
else
	bad "checkpoint of a paused container: $out"; logs $W/img6p
fi
$SW resume c6
out=$($SW --criu /nonexistent/criu checkpoint --image-path $W/img6 c6 2>&1) && bad "checkpoint with a missing criu succeeded" || { case "$out" in *criu*) ok "criu missing: $out" ;; *) bad "criu missing: $out" ;; esac; }
out=$($SW --criu nosuchcriu checkpoint --image-path $W/img6 c6 2>&1) && bad "checkpoint with an unknown criu succeeded" || { case "$out" in *"criu is not installed"*nosuchcriu*) ok "criu not installed: $out" ;; *) bad "criu not installed: $out" ;; esac; }
out=$(PATH=/nonexistent $SW checkpoint --leave-running --image-path $W/img6 c6 2>&1) && ok "criu outside PATH: found in /usr/sbin, and given a PATH with its helpers" || { bad "criu outside PATH: $out"; logs $W/img6; }
$SW delete -f c6
(cd $W/b6 && $SW create c7 </dev/null >/dev/null 2>&1)
out=$($SW checkpoint --image-path $W/img7 c7 2>&1) && bad "checkpoint of a created container succeeded" || { case "$out" in *"created state"*) ok "created: $out" ;; *) bad "created: $out" ;; esac; }
$SW delete -f c7
out=$($SW checkpoint c8 2>&1) && bad "checkpoint of a missing container" || { case "$out" in *"container does not exist"*) ok "missing: $out" ;; *) bad "missing: $out" ;; esac; }
out=$($SW restore -b $W/b6 --image-path $W/nothing c9 2>&1) && bad "restore from nothing" || { case "$out" in *image-path*nothing*) ok "restore without images: $out" ;; *) bad "restore without images: $out" ;; esac; }
[ ! -d $W/state/c9 ] && ok "a failed restore leaves no state" || bad "state left by a failed restore"
out=$($SW checkpoint --manage-cgroups-mode bogus c6 2>&1); case "$out" in *manage-cgroups-mode*) ok "bad --manage-cgroups-mode: $out" ;; *) bad "bad mode: $out" ;; esac

}

t_podman() {
section "Podman: container checkpoint and restore with --runtime swrun"
PW=$W/podman
mkdir -p $PW
# Podman as e2e/podman.sh drives it: private storage and run roots, cgroupfs (its containers
# below the job's cgroup, --cgroup-parent), swrun among the runtimes given --log-format json.
cat > $PW/containers.conf <<CONF
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime_supports_json = ["crun", "runc", "swrun"]
CONF
export CONTAINERS_CONF=$PW/containers.conf
PM="podman --root $PW/storage --runroot $PW/run --tmpdir $PW/tmp --runtime $W/swrun --storage-driver overlay"
make_rootfs $PW/rootfs
tar -C $PW/rootfs -cf $PW/rootfs.tar .
$PM import $PW/rootfs.tar swrun-criu >/dev/null 2>&1 || bad "podman import: $($PM import $PW/rootfs.tar swrun-criu 2>&1 | tail -n 3)"
PCOUNT='i=0; while :; do i=$((i+1)); echo $i >> /tmp/count; sleep 0.1; done'
pcount() { $PM exec "$1" tail -n1 /tmp/count 2>/dev/null; }
p_at_least() { local c; c=$(pcount "$1"); [ "$c" -ge "$2" ] 2>/dev/null; }
pstatus() { $PM inspect -f '{{.State.Status}}' "$1" 2>&1; }
if $PM run -d --network none --cgroup-parent $P/podman --name pc1 swrun-criu sh -c "$PCOUNT" >/dev/null 2>$PW/run.err && wait_until 30 p_at_least pc1 3; then
	ok "podman run -d (counter at $(pcount pc1))"
else
	bad "podman run: $(cat $PW/run.err)"
fi
n=$(number "$(pcount pc1)")
if out=$($PM container checkpoint pc1 2>&1); then ok "podman container checkpoint"; else bad "podman container checkpoint: $out"; logs $PW/storage/overlay-containers/*/userdata; fi
[ "$(pstatus pc1)" = exited ] && ok "checkpointed: the container exited" || bad "after checkpoint: $(pstatus pc1)"
if out=$($PM container restore pc1 2>&1); then ok "podman container restore"; else bad "podman container restore: $out"; logs $PW/storage/overlay-containers/*/userdata; fi
[ "$(pstatus pc1)" = running ] && wait_until 20 p_at_least pc1 $((n + 3)) && ok "restored: running, the counter goes on ($n, then $(pcount pc1))" || bad "after restore: $(pstatus pc1), counter $(pcount pc1) (was $n)"
n=$(number "$(pcount pc1)")
if out=$($PM container checkpoint --export $PW/pc1.tar --compress none pc1 2>&1); then ok "podman container checkpoint --export"; else bad "checkpoint --export: $out"; fi
if out=$($PM container restore --import $PW/pc1.tar --name pc2 2>&1); then ok "podman container restore --import --name pc2 (a new id)"; else bad "restore --import: $out"; fi
[ "$(pstatus pc2)" = running ] && wait_until 20 p_at_least pc2 $((n + 3)) && ok "pc2 runs on from pc1's checkpoint ($n, then $(pcount pc2))" || bad "pc2: $(pstatus pc2), counter $(pcount pc2) (was $n)"
$PM rm -f -t 0 pc1 pc2 >/dev/null 2>&1
unset CONTAINERS_CONF

}

t_containerd() {
section "containerd: ctr task checkpoint through the runc shim"
CW=$W/containerd
mkdir -p $CW
cat > $CW/config.toml <<TOML
version = 2
root = "$CW/root"
state = "$CW/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CW/containerd.sock"
[ttrpc]
  address = "$CW/containerd.sock.ttrpc"
TOML
containerd --config $CW/config.toml > $CW/containerd.log 2>&1 &
CTD=$!
wait_until 60 test -S $CW/containerd.sock || bad "containerd did not start: $(tail -n 5 $CW/containerd.log)"
CTR="ctr --address $CW/containerd.sock -n swrun-criu"
make_rootfs $CW/rootfs
make_oci_image $CW/rootfs $CW/image.tar docker.io/library/swrun-criu:latest
$CTR images import $CW/image.tar >/dev/null 2>&1 || bad "ctr images import: $($CTR images import $CW/image.tar 2>&1 | tail -n 2)"
IMG=docker.io/library/swrun-criu:latest
ccount() { $CTR task exec --exec-id "e$RANDOM" "$1" tail -n1 /tmp/count 2>/dev/null; }
c_at_least() { local c; c=$(ccount "$1"); [ "$c" -ge "$2" ] 2>/dev/null; }
if $CTR run -d --runc-binary $W/swrun --cgroup $P/ctr/k1 $IMG k1 sh -c "$PCOUNT" > $CW/run.out 2>&1 && wait_until 30 c_at_least k1 3; then
	ok "ctr run -d --runc-binary swrun"
else
	bad "ctr run: $(cat $CW/run.out)"
fi
if out=$($CTR task checkpoint --image-path $CW/img1 --work-path $CW/work1 k1 2>&1); then ok "ctr task checkpoint (the shim runs swrun checkpoint --leave-running)"; else bad "ctr task checkpoint: $out"; logs $CW/work1; fi
[ -f $CW/img1/inventory.img ] && $CTR task ls | grep -q 'k1 .*RUNNING' && ok "images written, the task runs on" || bad "after ctr task checkpoint: $(ls $CW/img1 2>&1 | head -n 3); $($CTR task ls)"
if out=$($CTR task checkpoint --exit --image-path $CW/img2 --work-path $CW/work2 k1 2>&1); then ok "ctr task checkpoint --exit"; else bad "ctr task checkpoint --exit: $out"; logs $CW/work2; fi
wait_until 20 sh -c "$CTR task ls | grep -q 'k1 .*STOPPED'" && ok "the task stopped after checkpoint --exit" || bad "after --exit: $($CTR task ls)"
$CTR task delete k1 >/dev/null 2>&1; $CTR container rm k1 >/dev/null 2>&1
kill $CTD 2>/dev/null; wait $CTD 2>/dev/null

}

t_record() {
section "recorded RPC exchanges (tests/vm/criu-record.py): runc's and swrun's"
REC=$R/rpc
rm -rf $REC
REC_TOOL=$W/criu-record.py
cp "$HERE/criu-record.py" $REC_TOOL; chmod 755 $REC_TOOL
bundle $W/rr "$COUNTER"
RC="runc --root $W/runc --criu $REC_TOOL"
(cd $W/rr && sleep 1000 | runc --root $W/runc run -d rr 2>&1 | cat > $W/rr.out &)
wait_until 30 sh -c "runc --root $W/runc state rr | grep -q running"
CRIU_RECORD=$REC/runc $RC checkpoint --image-path $W/rr-img rr > $W/rr.err 2>&1 && ok "runc checkpoint through the recorder" || { bad "runc checkpoint: $(cat $W/rr.err)"; logs $W/rr-img; }
CRIU_RECORD=$REC/runc RESTORER=$RC restore_piped rr $W/rr --image-path $W/rr-img && runc --root $W/runc state rr | grep -q running && ok "runc restore through the recorder" || { bad "runc restore: $(cat $W/rr.err)"; logs $W/rr-img; }
# (Its restored processes are the recorder's children, and its delete may find their cgroup
# busy while they are reaped: not swrun's concern.)
runc --root $W/runc delete -f rr 2>/dev/null
SR="$W/swrun --root $W/state --criu $REC_TOOL"
bundle $W/sr "$COUNTER"
run_piped sr $W/sr || bad "swrun run sr: $(cat $W/sr.out)"
CRIU_RECORD=$REC/swrun-predump $SR checkpoint --pre-dump --image-path $W/sr-pre sr > $W/sr.err 2>&1 && ok "swrun checkpoint --pre-dump through the recorder" || bad "swrun pre-dump: $(cat $W/sr.err)"
CRIU_RECORD=$REC/swrun $SR checkpoint --image-path $W/sr-img sr > $W/sr.err 2>&1 && ok "swrun checkpoint through the recorder" || bad "swrun checkpoint: $(cat $W/sr.err)"
CRIU_RECORD=$REC/swrun RESTORER=$SR restore_piped sr $W/sr --image-path $W/sr-img && is sr running && ok "swrun restore through the recorder" || { bad "swrun restore (recorded): $(cat $W/sr.err)"; logs $W/sr-img; }
$SW delete -f sr
bundle $W/rt '["/bin/sh","-c","i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.2; done"]' true
$W/probe recvtty $W/tty3.sock > $W/tty3.out 2>&1 &
wait_until 10 test -S $W/tty3.sock
(cd $W/rt && $SW run -d --console-socket $W/tty3.sock st </dev/null >/dev/null 2>&1)
CRIU_RECORD=$REC/swrun-tty $SR checkpoint --image-path $W/st-img st > $W/st.err 2>&1 || { bad "swrun checkpoint (tty, recorded): $(cat $W/st.err)"; logs $W/st-img; }
$W/probe recvtty $W/tty4.sock > $W/tty4.out 2>&1 &
wait_until 10 test -S $W/tty4.sock
(cd $W/rt && CRIU_RECORD=$REC/swrun-tty $SR restore -d --console-socket $W/tty4.sock --image-path $W/st-img st </dev/null > $W/st.err 2>&1) && ok "swrun restore of a terminal through the recorder (orphan-pts-master passed on)" || { bad "swrun restore (tty, recorded): $(cat $W/st.err)"; logs $W/st-img; }
$SW delete -f st
(cd $REC && find . -type f | sort | head -n 80)

}

t_systemd() {
section "the systemd cgroup driver (--systemd-cgroup): checkpoint, then restore into a new scope"
SD="$W/swrun --root $W/state --systemd-cgroup"
bundle $W/b7 "$COUNTER"
python3 -c 'import json,sys; p=sys.argv[1]; c=json.load(open(p)); c["linux"]["cgroupsPath"]="system.slice:swrun-criu:c7"; c["linux"]["resources"]={"pids":{"limit":77}}; json.dump(c,open(p,"w"))' $W/b7/config.json
(cd $W/b7 && sleep 1000 | $SD run -d c7 2>&1 | cat > $W/c7.out &)
wait_until 30 is c7 running && wait_until 30 counted c7 && ok "c7 runs in a scope: $(cat /proc/$(pidof_c c7)/cgroup)" || bad "c7: $(cat $W/c7.out)"
before=$(number "$(count c7)")
if out=$($SD checkpoint --image-path $W/img7 c7 2>&1); then ok "checkpoint (counter at $before)"; else bad "checkpoint c7: $out"; logs $W/img7; fi
systemctl is-active -q swrun-criu-c7.scope && bad "the scope is still active after the checkpoint" || ok "the checkpoint stopped the scope"
if RESTORER="$SD" restore_piped c7 $W/b7 --image-path $W/img7; then ok "restore --systemd-cgroup"; else bad "restore c7"; logs $W/img7; fi
pid=$(pidof_c c7)
grep -q "swrun-criu-c7.scope\$" /proc/$pid/cgroup && ok "the restored init is in the new scope ($(cat /proc/$pid/cgroup))" || bad "cgroup of the restored init: $(cat /proc/$pid/cgroup 2>&1)"
[ "$(systemctl show -p TasksMax --value swrun-criu-c7.scope)" = 77 ] && ok "the scope has the config's limit (TasksMax=77)" || bad "TasksMax: $(systemctl show -p TasksMax swrun-criu-c7.scope)"
wait_until 20 at_least c7 $((before + 5)) && ok "the counter goes on ($before, then $(count c7))" || bad "counter after restore: $(count c7)"
$SD delete -f c7 && ! systemctl is-active -q swrun-criu-c7.scope && ok "delete -f stops the scope" || bad "delete c7: scope $(systemctl is-active swrun-criu-c7.scope)"
# The same images restored into a scope that exists already (someone else's): it is joined.
systemd-run --quiet --scope --unit swrun-criu-c7 /bin/sleep 300 &
wait_until 20 systemctl is-active -q swrun-criu-c7.scope
other=$(head -n1 /sys/fs/cgroup/system.slice/swrun-criu-c7.scope/cgroup.procs 2>/dev/null)
if RESTORER="$SD" restore_piped c7 $W/b7 --image-path $W/img7; then ok "restore into an existing scope"; else bad "restore c7 into an existing scope"; logs $W/img7; fi
pid=$(pidof_c c7)
grep -q "swrun-criu-c7.scope\$" /proc/$pid/cgroup 2>/dev/null && [ "$(systemctl show -p TasksMax --value swrun-criu-c7.scope)" = 77 ] && ok "restored into the existing scope, the limit set on it" || bad "joined restore: $(cat /proc/$pid/cgroup 2>&1); TasksMax $(systemctl show -p TasksMax --value swrun-criu-c7.scope)"
$SD delete -f c7 && systemctl is-active -q swrun-criu-c7.scope && kill -0 "$other" 2>/dev/null && ok "delete -f leaves the existing scope and its own process" || bad "after delete: scope $(systemctl is-active swrun-criu-c7.scope), other '$other'"
systemctl stop swrun-criu-c7.scope
}

# SWRUN_CRIU_TESTS: the tests to run (all by default; newid follows leave, record uses tty's bundle).
for t in ${SWRUN_CRIU_TESTS:-counter leave newid predump tty tcp errors systemd podman containerd record}; do t_$t; done
finish
