#!/bin/sh
# Pure cgroup v2 checks for swrun. Runs INSIDE the project's VM (vm/run.sh; vm/test.sh runs
# it), as root under systemd. With the cgroupfs driver (the default) every cgroup it makes
# lies below $SWRUN_VM_CGROUP (the job service's cgroup, Delegate=yes), never in the root
# cgroup, which belongs to systemd. With SWRUN_DRIVER=systemd (tests/vm/systemd.sh) every
# call passes --systemd-cgroup, as Docker, Podman and kubeadm's containerd do, and each
# container is a transient scope in system.slice that systemd makes and removes; the same
# checks then run on the scope's cgroup. Usage: cgroup2.sh SWRUN PROBE
# Prints PASS/FAIL lines and "N passed, M failed"; exits non-zero if anything failed.
set -u
pass=0 fail=0
ok()  { echo "PASS: $*"; pass=$((pass+1)); }
bad() { echo "FAIL: $*"; fail=$((fail+1)); }
[ -n "${SWRUN_VM_CGROUP:-}" ] || { echo "FAIL: not in the VM (no SWRUN_VM_CGROUP)"; echo "0 passed, 1 failed"; exit 1; }
W=/tmp/swrun-v2
rm -rf $W
mkdir -p $W/bundle/rootfs/bin $W/bundle/rootfs/etc $W/bundle/rootfs/proc $W/bundle/rootfs/sys $W/bundle/rootfs/dev $W/bundle/rootfs/tmp
# Copies: the checkout is a read-only 9p share, and the bundle's files must be local.
cp "$1" $W/swrun; cp "$2" $W/bundle/rootfs/bin/swrun-probe
cp /bin/busybox $W/bundle/rootfs/bin/busybox
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox $W/bundle/rootfs/bin/$a; done
echo 'root:x:0:0:root:/root:/bin/sh' > $W/bundle/rootfs/etc/passwd
DRIVER=${SWRUN_DRIVER:-cgroupfs}
B=$W/bundle
CG=/sys/fs/cgroup
# CPATH: the containers' cgroupsPath; CREL: their cgroup (as /proc/PID/cgroup says it); C:
# its directory. cgroupfs: below the job's delegated cgroup. systemd: the scope swrunvm-c.scope
# in system.slice.
if [ "$DRIVER" = systemd ]; then
	SW="$W/swrun --root $W/state --systemd-cgroup"
	CPATH=system.slice:swrunvm:c CREL=/system.slice/swrunvm-c.scope
else
	SW="$W/swrun --root $W/state"
	P=$SWRUN_VM_CGROUP/swrun-v2
	CPATH=$P/c CREL=$P/c
fi
C=$CG$CREL
roots_before=$(ls $CG)
units_before=$(systemctl list-units --all --plain --no-legend 'swrunvm*' | wc -l)

# config ARGS_JSON RESOURCES_JSON [CGROUPS_PATH]: a runc-like config with a cgroup namespace.
config() {
cat > $B/config.json <<JSON
{"ociVersion":"1.0.2-dev","process":{"terminal":false,"user":{"uid":0,"gid":0},"args":$1,
 "env":["PATH=/bin"],"cwd":"/","capabilities":{"bounding":["CAP_KILL"],"effective":["CAP_KILL"],"permitted":["CAP_KILL"]},
 "noNewPrivileges":true},
 "root":{"path":"rootfs"},"hostname":"v2",
 "mounts":[{"destination":"/proc","type":"proc","source":"proc"},
  {"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","strictatime","mode=755","size=65536k"]},
  {"destination":"/sys","type":"sysfs","source":"sysfs","options":["nosuid","noexec","nodev","ro"]},
  {"destination":"/sys/fs/cgroup","type":"cgroup","source":"cgroup","options":["nosuid","noexec","nodev","relatime","ro"]}],
 "linux":{"cgroupsPath":"${3:-$CPATH}","resources":$2,
  "namespaces":[{"type":"pid"},{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"},{"type":"cgroup"}],
  "maskedPaths":["/proc/kcore"],"readonlyPaths":["/proc/sys"]}}
JSON
}

run() { (cd $B && $SW run "$@"); }

echo "driver $DRIVER; kernel $(uname -r); delegated cgroup $SWRUN_VM_CGROUP; controllers: $(cat $CG$SWRUN_VM_CGROUP/cgroup.subtree_control)"

config '["/bin/true"]' '{}'
run c1 && ok "run /bin/true" || bad "run /bin/true"
if [ "$DRIVER" = systemd ]; then
	config '["/bin/sleep","30"]' '{}'
	(cd $B && $SW run -d c1b)
	out=$(sed -n 's/^0:://p' /proc/$($SW state c1b | tr ',' '\n' | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')/cgroup)
	[ "$out" = "$CREL" ] && ok "the init runs in the scope's cgroup ($CREL)" || bad "init's cgroup: '$out'"
	$SW delete -f c1b
else
	dbg=$(cd $B && $SW --debug run c1b 2>&1)
	case "$dbg" in *"clone3 CLONE_INTO_CGROUP"*) ok "the init is born in its cgroup (clone3 CLONE_INTO_CGROUP)" ;; *) bad "no CLONE_INTO_CGROUP" ;; esac
fi
[ ! -d $C ] && ok "cgroup removed on delete" || bad "cgroup left: $C"

config '["/bin/sh","-c","grep cgroup2 /proc/self/mounts | cut -d\" \" -f2,3; cat /proc/self/cgroup; cat /sys/fs/cgroup/cgroup.controllers"]' '{}'
out=$(run c2)
case "$out" in *"/sys/fs/cgroup cgroup2"*"0::/"*memory*pids*) ok "cgroup2 view in a cgroup namespace" ;; *) bad "cgroup2 view: $out" ;; esac

config '["/bin/sh","-c","for i in $(seq 1 20); do (sleep 3 &); done 2>&1 | head -1; cat /sys/fs/cgroup/pids.max"]' '{"pids":{"limit":6}}'
out=$(run c3)
case "$out" in *"can't fork"*6) ok "pids.limit stops a fork loop" ;; *) bad "pids: $out" ;; esac

config '["/bin/sh","-c","cat /sys/fs/cgroup/cpu.max /sys/fs/cgroup/cpu.weight /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory.swap.max /sys/fs/cgroup/memory.high /sys/fs/cgroup/cpuset.cpus /sys/fs/cgroup/io.weight | tr \"\\n\" \" \""]' \
  '{"cpu":{"shares":512,"quota":20000,"period":100000,"cpus":"0"},"memory":{"limit":67108864,"swap":134217728},"blockIO":{"weight":500},"unified":{"memory.high":"50331648"}}'
out=$(run c4)
case "$out" in "20000 100000 20 67108864 67108864 50331648 0 default 4950 ") ok "cpu, memory, swap, cpuset, io, unified files" ;; *) bad "files: '$out'" ;; esac

config '["/bin/sh","-c","timeout 2 sh -c \"while :; do :; done\"; grep -E \"^(nr_throttled|usage_usec)\" /sys/fs/cgroup/cpu.stat | tr \"\\n\" \" \""]' '{"cpu":{"quota":10000,"period":100000}}'
out=$(run c8)
thr=$(echo "$out" | sed -n 's/.*nr_throttled \([0-9]*\).*/\1/p'); use=$(echo "$out" | sed -n 's/.*usage_usec \([0-9]*\).*/\1/p')
[ "${thr:-0}" -gt 0 ] && [ "${use:-9999999}" -lt 1000000 ] && ok "cpu quota 10% throttles a busy loop (usage ${use}us in 2s, throttled $thr)" || bad "cpu.max: '$out'"

config '["/bin/sh","-c","sleep 0.3; x=$(yes | head -c 80000000); echo survived"]' '{"memory":{"limit":16777216,"swap":16777216}}'
(cd $B && $SW run -d c5)
ev=$($SW events --interval 100ms c5)
case "$ev" in *'"type":"oom"'*) ok "memory limit OOM-kills and events reports it" ;; *) bad "no oom event" ;; esac
$SW delete -f c5

# The device under test: /dev/loop-control (c 10:237). It opens without capabilities, so only
# the device filter can refuse it, and it is not in runc's default allow list, which swrun
# appends to the config's rules as runc does (that list has /dev/net/tun, c 10:200, so a
# deny-all config still lets tun open).
modprobe loop 2>/dev/null; mknod $B/rootfs/lc c 10 237 2>/dev/null
config '["/bin/sh","-c","head -c1 /dev/zero | wc -c; (exec 3</lc) 2>&1 | grep -c \"not permitted\""]' '{"devices":[{"allow":false,"access":"rwm"}]}'
out=$(run c7 | tr '\n' ' ')
[ "$out" = "1 1 " ] && ok "eBPF device filter: default devices allowed, others denied" || bad "device filter: '$out'"
config '["/bin/sh","-c","(exec 3</lc) && echo open"]' '{"devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":10,"minor":237,"access":"rw"}]}'
out=$(run c7b 2>&1)
[ "$out" = "open" ] && ok "eBPF device filter: an allowed device opens" || bad "allowed device: '$out'"

# update cannot change the device rules of a running container (runc ignores them; swrun
# refuses with an error): the filter attached at create stays in force.
config '["/bin/sleep","60"]' '{"devices":[{"allow":false,"access":"rwm"}]}'
(cd $B && $SW run -d c9)
before=$($SW exec c9 /bin/sh -c '(exec 3</lc) 2>/dev/null && echo open || echo denied')
$SW update --resources - c9 2>/dev/null <<UPD && upd=accepted || upd=refused
{"devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":10,"minor":237,"access":"rw"}]}
UPD
after=$($SW exec c9 /bin/sh -c '(exec 3</lc) 2>/dev/null && echo open || echo denied')
[ "$before $upd $after" = "denied refused denied" ] && ok "update refuses device rules; the eBPF filter stays" || bad "device update: $before, update $upd, $after"
$SW delete -f c9

config '["/bin/sleep","60"]' '{"pids":{"limit":20}}'
(cd $B && $SW run -d c6)
pid=$($SW state c6 | tr ',' '\n' | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
[ "$(sed -n 's/^0:://p' /proc/$pid/cgroup)" = "$CREL" ] && ok "the container's cgroup is $CREL" || bad "init's cgroup: $(cat /proc/$pid/cgroup)"
$SW pause c6 && [ "$(cat $C/cgroup.freeze)" = 1 ] && $SW state c6 | grep -q '"paused"' && ok "pause freezes (cgroup.freeze)" || bad "pause"
$SW resume c6 && $SW state c6 | grep -q '"running"' && ok "resume" || bad "resume"
$SW update --memory 96m --pids-limit 7 c6 && [ "$(cat $C/memory.max)" = $((96*1024*1024)) ] && [ "$(cat $C/pids.max)" = 7 ] && ok "update memory and pids" || bad "update: $(cat $C/memory.max)"
$SW exec -d c6 sleep 50
[ "$($SW ps --format json c6 | tr ',' '\n' | wc -l)" = 2 ] && ok "exec joins the cgroup (ps lists 2)" || bad "ps: $($SW ps --format json c6)"
$SW kill --all c6 9; sleep 0.5
$SW state c6 | grep -q '"stopped"' && ok "kill --all (cgroup.kill)" || bad "kill --all"
$SW delete c6 && [ ! -d $C ] && ok "delete after kill --all" || bad "delete"

# A cgroup made inside the container's (a nested runtime's, systemd's in a container) goes
# with it, and so does the process in it.
config '["/bin/sleep","60"]' '{}'
(cd $B && $SW run -d c10)
$SW exec -d c10 sleep 55
init=$($SW state c10 | tr ',' '\n' | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
other=$($SW ps --format json c10 | tr -d '[] ' | tr ',' '\n' | grep -vx "$init" | head -1)
mkdir $C/nested && echo "$other" > $C/nested/cgroup.procs
[ "$(cat $C/nested/cgroup.procs)" = "$other" ] && ok "a process moved into a nested cgroup" || bad "nested placement: '$other'"
$SW delete -f c10 && [ ! -d $C ] && ! kill -0 "$other" 2>/dev/null && ok "delete -f removes the nested cgroup and kills what is in it" || bad "nested delete: $(ls $C 2>&1 | head -3)"

if [ "$DRIVER" = systemd ]; then
	# The scope is systemd's unit: its properties are the limits, set at start and by update.
	prop() { systemctl show -P "$2" "$1" 2>/dev/null; }
	config '["/bin/sleep","60"]' '{"memory":{"limit":67108864},"pids":{"limit":32},"cpu":{"shares":512,"quota":12345,"period":100000,"cpus":"0"}}'
	sed -i 's|^{"ociVersion":"1.0.2-dev",|{"ociVersion":"1.0.2-dev","annotations":{"org.systemd.property.ExecStopPost":"/bin/touch /tmp/swrun-pwn"},|' $B/config.json
	(cd $B && $SW run -d s1)
	u=swrunvm-c.scope
	[ "$(prop $u ActiveState)" = active ] && [ "$(prop $u Delegate)" = yes ] && [ "$(prop $u Slice)" = system.slice ] \
		&& ok "the container is the active scope $u in system.slice, Delegate=yes" || bad "scope: $(systemctl status $u 2>&1 | head -5 | tr '\n' ' ')"
	[ "$(prop $u MemoryMax)" = 67108864 ] && [ "$(prop $u TasksMax)" = 32 ] && [ "$(prop $u CPUWeight)" = 20 ] && [ "$(prop $u AllowedCPUs)" = 0 ] \
		&& ok "limits are the unit's properties (MemoryMax, TasksMax, CPUWeight, AllowedCPUs)" \
		|| bad "properties: MemoryMax=$(prop $u MemoryMax) TasksMax=$(prop $u TasksMax) CPUWeight=$(prop $u CPUWeight) AllowedCPUs=$(prop $u AllowedCPUs)"
	# runc rounds the quota up to whole 10 ms per second for systemd, and writes cpu.max with it.
	[ "$(prop $u CPUQuotaPerSecUSec)" = 130ms ] && [ "$(cat $C/cpu.max)" = "13000 100000" ] \
		&& ok "CPU quota as runc rounds it (130ms/s, cpu.max 13000 100000)" || bad "quota: $(prop $u CPUQuotaPerSecUSec), cpu.max $(cat $C/cpu.max)"
	[ "$(prop $u DevicePolicy)" = strict ] && ok "DevicePolicy=strict with the default device rules" || bad "DevicePolicy=$(prop $u DevicePolicy)"
	$SW update --memory 128m --pids-limit 9 s1 && [ "$(prop $u MemoryMax)" = 134217728 ] && [ "$(prop $u TasksMax)" = 9 ] && [ "$(cat $C/memory.max)" = 134217728 ] \
		&& ok "update sets the unit's properties and the files" || bad "update: MemoryMax=$(prop $u MemoryMax) TasksMax=$(prop $u TasksMax) memory.max=$(cat $C/memory.max)"
	[ -z "$(prop $u ExecStopPost)" ] && ok "no unit property from annotations (CVE-2024-3154)" || bad "ExecStopPost=$(prop $u ExecStopPost)"
	$SW list | grep -q '^s1 ' && $SW state s1 | grep -q '"running"' && ok "list and state with --systemd-cgroup" || bad "list/state"
	$SW delete -f s1
	[ "$(prop $u LoadState)" = not-found ] && [ ! -d $C ] && ok "delete stops the unit; its cgroup is gone" || bad "after delete: $(prop $u LoadState) $(prop $u ActiveState)"
	[ ! -e /tmp/swrun-pwn ] && ok "the annotation's ExecStopPost did not run at stop" || bad "ExecStopPost from an annotation ran"

	# A failed create leaves no unit: the init's executable does not exist.
	config '["/nonexistent"]' '{}'
	(cd $B && $SW create s2) 2>/dev/null && bad "create with a missing executable succeeded" || true
	[ "$(prop $u LoadState)" = not-found ] && [ ! -d $W/state/s2 ] && [ ! -d $C ] && ok "a failed create leaves no unit, cgroup or state" || bad "after a failed create: $(prop $u LoadState) $(ls $W/state)"

	# A unit that exists already (someone else's scope) is joined, as runc joins it: the init
	# goes into its cgroup and the limits onto the unit; delete leaves the unit and the
	# processes that are not the container's.
	systemd-run --quiet --scope --unit swrunvm-x /bin/sleep 120 &
	for i in $(seq 1 50); do [ "$(prop swrunvm-x.scope ActiveState)" = active ] && break; sleep 0.1; done
	other=$(cat /sys/fs/cgroup/system.slice/swrunvm-x.scope/cgroup.procs 2>/dev/null | head -n1)
	config '["/bin/sleep","60"]' '{"pids": {"limit": 41}}' system.slice:swrunvm:x
	# (Its stdio to a file: the container would hold a $(...) pipe open for its 60 s.)
	if (cd $B && $SW run -d s3 </dev/null >$W/s3.out 2>&1); then ok "run -d into an existing scope"; else bad "run into an existing scope: $(cat $W/s3.out)"; fi
	p3=$($SW state s3 2>/dev/null | tr ',' '\n' | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
	[ "$(sed -n 's/^0:://p' /proc/$p3/cgroup 2>/dev/null)" = /system.slice/swrunvm-x.scope ] && ok "the init is in the existing scope" || bad "the init's cgroup: $(cat /proc/$p3/cgroup 2>&1); state: $($SW state s3 2>&1 | tr -d '\n'); scope procs: $(cat /sys/fs/cgroup/system.slice/swrunvm-x.scope/cgroup.procs 2>&1 | tr '\n' ' '); events: $(cat /sys/fs/cgroup/system.slice/swrunvm-x.scope/pids.events 2>&1)"
	[ "$(prop swrunvm-x.scope TasksMax)" = 41 ] && [ "$(cat /sys/fs/cgroup/system.slice/swrunvm-x.scope/pids.max)" = 41 ] && ok "the limit is set on the existing unit (TasksMax=41)" || bad "TasksMax: $(prop swrunvm-x.scope TasksMax)"
	$SW delete -f s3
	[ "$(prop swrunvm-x.scope ActiveState)" = active ] && [ -n "$other" ] && kill -0 "$other" 2>/dev/null && ! kill -0 "$p3" 2>/dev/null && [ ! -d $W/state/s3 ] \
		&& ok "delete -f kills the container, leaves the unit and its other process" || bad "after delete: scope $(prop swrunvm-x.scope ActiveState), other '$other', init $p3"
	systemctl stop swrunvm-x.scope

	# A slice of its own: systemd makes it (runc's expandSlice: swrunvm-t.slice is in swrunvm.slice).
	config '["/bin/sleep","30"]' '{}' swrunvm-t.slice:p:n
	(cd $B && $SW run -d s4)
	out=$(sed -n 's/^0:://p' /proc/$($SW state s4 | tr ',' '\n' | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')/cgroup)
	[ "$out" = "/swrunvm.slice/swrunvm-t.slice/p-n.scope" ] && ok "cgroupsPath slice:prefix:name (swrunvm-t.slice:p:n)" || bad "slice: '$out'"
	$SW delete -f s4
	systemctl stop swrunvm.slice
	config '["/bin/true"]' '{}' not-three-fields
	err=$(cd $B && $SW run s5 2>&1) && bad "a cgroupsPath without slice:prefix:name was accepted" || true
	case "$err" in *slice:prefix:name*) ok "a malformed cgroupsPath is refused naming slice:prefix:name" ;; *) bad "malformed: '$err'" ;; esac
fi

# Nothing outside the delegated subtree: systemd owns the rest of the hierarchy.
[ "$(ls $CG)" = "$roots_before" ] && ok "no cgroup made outside the delegated cgroup" || bad "the root cgroup changed: $(ls $CG)"
units_after=$(systemctl list-units --all --plain --no-legend 'swrunvm*' | wc -l)
[ "$units_after" = "$units_before" ] && ok "no unit left behind" || bad "units left: $(systemctl list-units --all --plain --no-legend 'swrunvm*' | tr '\n' ' ')"

echo "$pass passed, $fail failed"
[ $fail = 0 ]
