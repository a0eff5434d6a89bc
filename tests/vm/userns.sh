#!/bin/sh
# User namespace checks that need the host's full privileges, which the CI machine's root
# lacks (CAP_SYS_RESOURCE) but the test VM's root has. Runs INSIDE the VM (vm/test.sh), as
# root, in the job's delegated cgroup. Usage: userns.sh SWRUN PROBE
# Prints PASS/FAIL lines and "N passed, M failed"; exits non-zero if anything failed.
set -u
pass=0 fail=0
ok()  { echo "PASS: $*"; pass=$((pass+1)); }
bad() { echo "FAIL: $*"; fail=$((fail+1)); }
[ -n "${SWRUN_VM_CGROUP:-}" ] || { echo "FAIL: not in the VM (no SWRUN_VM_CGROUP)"; echo "0 passed, 1 failed"; exit 1; }
W=/tmp/swrun-userns
rm -rf $W
mkdir -p $W/bundle/rootfs/bin $W/bundle/rootfs/etc $W/bundle/rootfs/proc $W/bundle/rootfs/sys $W/bundle/rootfs/dev $W/bundle/rootfs/tmp
cp "$1" $W/swrun; cp "$2" $W/bundle/rootfs/bin/swrun-probe
cp /bin/busybox $W/bundle/rootfs/bin/busybox
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox $W/bundle/rootfs/bin/$a; done
echo 'root:x:0:0:root:/root:/bin/sh' > $W/bundle/rootfs/etc/passwd
SW="$W/swrun --root $W/state"
B=$W/bundle
P=$SWRUN_VM_CGROUP/swrun-userns

# config ARGS_JSON: a container in its own user namespace (0 -> 100000, 65536 ids).
config() {
cat > $B/config.json <<JSON
{"ociVersion":"1.0.2-dev","process":{"terminal":false,"user":{"uid":0,"gid":0},"args":$1,
 "env":["PATH=/bin"],"cwd":"/","capabilities":{"bounding":["CAP_KILL"],"effective":["CAP_KILL"],"permitted":["CAP_KILL"]}},
 "root":{"path":"rootfs"},"hostname":"userns",
 "mounts":[{"destination":"/proc","type":"proc","source":"proc"},
  {"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","strictatime","mode=755","size=65536k"]}],
 "linux":{"cgroupsPath":"$P/c",
  "namespaces":[{"type":"pid"},{"type":"ipc"},{"type":"uts"},{"type":"mount"},{"type":"user"}],
  "uidMappings":[{"containerID":0,"hostID":100000,"size":65536}],"gidMappings":[{"containerID":0,"hostID":100000,"size":65536}]}}
JSON
}

echo "kernel $(uname -r); CapEff $(grep CapEff /proc/self/status | cut -f2)"
config '["/bin/sleep","60"]'
(cd $B && $SW run -d u1) && ok "run -d in a user namespace" || bad "run -d in a user namespace"

# exec with a lower oom_score_adj (Kubernetes gives -997): the parent sets it from the host's
# side; the process, once in the container's user namespace, would be refused.
printf '%s' '{"args":["/bin/cat","/proc/self/oom_score_adj"],"cwd":"/","user":{"uid":0,"gid":0},"oomScoreAdj":-997}' > $W/p.json
out=$($SW exec --process $W/p.json u1 2>&1)
[ "$out" = "-997" ] && ok "exec lowers oom_score_adj to -997 in a user namespace" || bad "exec oom_score_adj: $out"

# exec with a raised hard limit (above the runtime's own): needs the host's CAP_SYS_RESOURCE.
hard=$(ulimit -Hn)
want=$((hard + 1024))
printf '{"args":["/bin/sh","-c","ulimit -Hn"],"cwd":"/","user":{"uid":0,"gid":0},"rlimits":[{"type":"RLIMIT_NOFILE","soft":1024,"hard":%s}]}' $want > $W/r.json
out=$($SW exec --process $W/r.json u1 2>&1)
[ "$out" = "$want" ] && ok "exec raises a hard rlimit in a user namespace" || bad "exec rlimit: $out (wanted $want)"

$SW delete -f u1 >/dev/null 2>&1
[ ! -d /sys/fs/cgroup$P/c ] && ok "nothing left" || bad "cgroup left"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
