#!/bin/sh
# AppArmor against a live, enforcing AppArmor. Runs INSIDE the project's VM (vm/run.sh;
# vm/test.sh runs it), as root. Usage: apparmor.sh SWRUN PROBE
# - process.apparmorProfile is applied at exec and enforced (a denied read fails, an allowed
#   one works), for the init and for `exec --apparmor`;
# - a profile the kernel does not know fails create, naming it;
# - CVE-2019-16884 (a tmpfs mounted over /proc) and CVE-2023-28642 (/proc a symlink in the
#   image): the label is written through the verified host procfs handle, so the container
#   still runs confined, or create fails; it never runs unconfined, and nothing is written
#   where the symlink points.
# Prints PASS/FAIL lines and "N passed, M failed"; exits non-zero if anything failed.
set -u
pass=0 fail=0
ok()  { echo "PASS: $*"; pass=$((pass+1)); }
bad() { echo "FAIL: $*"; fail=$((fail+1)); }
[ -n "${SWRUN_VM_CGROUP:-}" ] || { echo "FAIL: not in the VM (no SWRUN_VM_CGROUP)"; echo "0 passed, 1 failed"; exit 1; }
[ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ] || { echo "FAIL: AppArmor is not enabled"; echo "0 passed, 1 failed"; exit 1; }
W=/tmp/swrun-aa
rm -rf $W
mkdir -p $W/bundle/rootfs/bin $W/bundle/rootfs/etc $W/bundle/rootfs/proc $W/bundle/rootfs/sys $W/bundle/rootfs/dev $W/bundle/rootfs/tmp $W/bundle/rootfs/secret
cp "$1" $W/swrun
cp /bin/busybox $W/bundle/rootfs/bin/busybox
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox $W/bundle/rootfs/bin/$a; done
echo 'root:x:0:0:root:/root:/bin/sh' > $W/bundle/rootfs/etc/passwd
echo s3cret > $W/bundle/rootfs/secret/file
SW="$W/swrun --root $W/state"
B=$W/bundle

# The profile: everything allowed but reading anything under /secret/.
cat > $W/profile <<'PROF'
#include <tunables/global>
profile swrun-test flags=(attach_disconnected,mediate_deleted) {
  #include <abstractions/base>
  file,
  capability,
  network,
  mount,
  umount,
  pivot_root,
  signal,
  ptrace,
  unix,
  audit deny /secret/** r,
}
PROF
apparmor_parser -r -W $W/profile && ok "profile swrun-test loaded" || bad "apparmor_parser failed"

# config ARGS_JSON PROFILE [EXTRA_MOUNTS_JSON]
config() {
cat > $B/config.json <<JSON
{"ociVersion":"1.0.2-dev","process":{"terminal":false,"user":{"uid":0,"gid":0},"args":$1,
 "env":["PATH=/bin"],"cwd":"/","apparmorProfile":"$2",
 "capabilities":{"bounding":["CAP_KILL"],"effective":["CAP_KILL"],"permitted":["CAP_KILL"]},"noNewPrivileges":true},
 "root":{"path":"rootfs"},"hostname":"aa",
 "mounts":[{"destination":"/proc","type":"proc","source":"proc"},
  {"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","strictatime","mode=755","size=65536k"]}${3:-}],
 "linux":{"cgroupsPath":"$SWRUN_VM_CGROUP/swrun-aa",
  "namespaces":[{"type":"pid"},{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"}],
  "maskedPaths":["/proc/kcore"],"readonlyPaths":["/proc/sys"]}}
JSON
}
run() { (cd $B && $SW run "$@"); }

config '["/bin/sh","-c","cat /proc/self/attr/current; cat /secret/file 2>&1; echo ok > /tmp/w && cat /tmp/w"]' swrun-test
out=$(run a1 2>&1 | tr '\n' '|')
case "$out" in "swrun-test (enforce)|"*"Permission denied|ok|") ok "the init runs confined (swrun-test, enforce): /secret denied, the rest allowed" ;; *) bad "confinement: '$out'" ;; esac
dmesg 2>/dev/null | grep -q 'apparmor="DENIED".*profile="swrun-test".*name="/secret/file"' && ok "the kernel logged the denial" || bad "no DENIED audit line for /secret/file"

config '["/bin/sleep","60"]' ""
(cd $B && $SW run -d a2)
plain=$($SW exec a2 cat /proc/self/attr/current)
conf=$($SW exec --apparmor swrun-test a2 /bin/sh -c 'cat /proc/self/attr/current; cat /secret/file 2>&1' | tr '\n' '|')
$SW delete -f a2
[ "$plain" = "unconfined" ] && ok "no profile asked: unconfined, as runc" || bad "no profile: '$plain'"
case "$conf" in "swrun-test (enforce)|"*"Permission denied|") ok "exec --apparmor confines the exec'd process" ;; *) bad "exec --apparmor: '$conf'" ;; esac

config '["/bin/true"]' swrun-no-such-profile
err=$(run a3 2>&1) && bad "a profile the kernel does not know was accepted" || true
case "$err" in *AppArmor*) ok "an unknown profile fails create: $(echo "$err" | tail -1 | cut -c1-140)" ;; *) bad "unknown profile: '$err'" ;; esac
[ ! -d $W/state/a3 ] && ok "nothing left after the failed create" || bad "state left for a3"

# CVE-2019-16884: a tmpfs over /proc after the real one (a volume there). The label goes
# through the host's procfs: the container runs confined, or create fails. Never unconfined.
config '["/bin/sh","-c","cat /secret/file 2>&1; ls /proc"]' swrun-test ',{"destination":"/proc","type":"tmpfs","source":"tmpfs"}'
out=$(run a4 2>&1); rc=$?
case "$out" in *s3cret*) bad "CVE-2019-16884: the container ran unconfined: $out" ;;
	*"Permission denied"*) ok "CVE-2019-16884: confined despite a tmpfs over /proc" ;;
	*) [ $rc != 0 ] && ok "CVE-2019-16884: create refused (rc $rc): $(echo "$out" | tail -1 | cut -c1-120)" || bad "CVE-2019-16884: '$out'" ;; esac

# CVE-2023-28642: /proc a symlink in the image, pointing out of the rootfs.
mkdir -p $W/hostdir; rmdir $B/rootfs/proc; ln -s $W/hostdir $B/rootfs/proc
config '["/bin/sh","-c","cat /secret/file 2>&1"]' swrun-test
out=$(run a5 2>&1); rc=$?
case "$out" in *s3cret*) bad "CVE-2023-28642: the container ran unconfined: $out" ;;
	*"Permission denied"*) ok "CVE-2023-28642: confined despite /proc a symlink" ;;
	*) [ $rc != 0 ] && ok "CVE-2023-28642: create refused (rc $rc): $(echo "$out" | tail -1 | cut -c1-120)" || bad "CVE-2023-28642: '$out'" ;; esac
[ -z "$(ls -A $W/hostdir)" ] && ok "CVE-2023-28642: nothing written where the symlink points" || bad "written through the symlink: $(ls -A $W/hostdir)"
rm $B/rootfs/proc; mkdir $B/rootfs/proc

# A running container's label cannot be changed by the container: attr/current is the
# kernel's, and a write to attr/exec from inside (without the profile's permission to
# change) does not unconfine the next exec.
config '["/bin/sh","-c","echo \"exec unconfined\" > /proc/self/attr/exec 2>/dev/null; exec cat /secret/file 2>&1"]' swrun-test
out=$(run a6 2>&1)
case "$out" in *s3cret*) bad "the container left its profile: $out" ;; *) ok "the container cannot change its own profile to unconfined" ;; esac

apparmor_parser -R $W/profile 2>/dev/null
echo "$pass passed, $fail failed"
[ $fail = 0 ]
