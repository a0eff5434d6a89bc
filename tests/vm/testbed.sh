#!/bin/sh
# The VM itself: what the other suites (and later rootless and end-to-end tests) rely on.
# Runs INSIDE the project's VM (vm/run.sh), as root. Usage: testbed.sh SWRUN PROBE
# Prints PASS/FAIL lines and "N passed, M failed"; exits non-zero if anything failed.
set -u
pass=0 fail=0
ok()  { echo "PASS: $*"; pass=$((pass+1)); }
bad() { echo "FAIL: $*"; fail=$((fail+1)); }
# check DESCRIPTION COMMAND...: PASS when the command succeeds; FAIL shows its output.
check() {
	d=$1; shift
	if out=$("$@" 2>&1); then ok "$d"; else bad "$d: $(echo "$out" | tail -n 3 | tr '\n' ' ')"; fi
}
. /etc/swrun-vm.conf
echo "kernel $(uname -r); $(. /etc/os-release; echo "$PRETTY_NAME"); engines: $ENGINES"

check "systemd is PID 1" test "$(cat /proc/1/comm)" = systemd
state=$(systemctl is-system-running)
[ "$state" = running ] && ok "the boot finished: running" || bad "system is $state: $(systemctl --failed --plain --no-legend | tr '\n' ' ')"
check "only cgroup2 is mounted" sh -c '[ -z "$(awk "\$3 == \"cgroup\"" /proc/self/mounts)" ] && grep -q "^cgroup2 /sys/fs/cgroup cgroup2" /proc/self/mounts'
check "cgroup v1 is off on the kernel command line" grep -q 'cgroup_no_v1=all' /proc/cmdline
check "every v2 controller is there" sh -c 'for c in cpuset cpu io memory pids; do grep -qw $c /sys/fs/cgroup/cgroup.controllers || exit 1; done'
check "the job's cgroup is delegated, controllers enabled for its children" \
	sh -c '[ -n "$SWRUN_VM_CGROUP" ] && d=/sys/fs/cgroup$SWRUN_VM_CGROUP && grep -qw memory $d/cgroup.subtree_control && grep -qw pids $d/cgroup.subtree_control && [ "$(sed -n "s/^0:://p" /proc/self/cgroup)" = "$SWRUN_VM_CGROUP/job" ]'
check "the job may make cgroups (Delegate=yes)" sh -c 'd=/sys/fs/cgroup$SWRUN_VM_CGROUP/testbed && mkdir $d && echo 5 > $d/pids.max && rmdir $d'
check "AppArmor is the LSM and enabled" sh -c 'grep -qw apparmor /sys/kernel/security/lsm && [ "$(cat /sys/module/apparmor/parameters/enabled)" = Y ]'
check "AppArmor profiles are loaded and enforced" sh -c 'aa-status --enforced | grep -q "^[1-9]"'
check "user $USER (uid 1000) lingers: user@1000.service runs" sh -c 'id -u '"$USER"' | grep -qx 1000 && [ -e /var/lib/systemd/linger/'"$USER"' ] && systemctl is-active -q user@1000.service'
check "subordinate uid and gid ranges for $USER" sh -c 'grep -q "^'"$USER"':[0-9]*:65536$" /etc/subuid && grep -q "^'"$USER"':[0-9]*:65536$" /etc/subgid'
check "newuidmap maps a user namespace for $USER" runuser -u "$USER" -- unshare --user --map-auto --map-root-user sh -c 'grep -Eq "^ *1 +100000 +6553[56]$" /proc/self/uid_map && grep -Eq "^ *1 +100000 +6553[56]$" /proc/self/gid_map'
check "the user's systemd manager answers" runuser -u "$USER" -- env XDG_RUNTIME_DIR=/run/user/1000 systemctl --user is-system-running
check "criu check" criu check
check "the kernel loads modules (overlay, veth, tun)" modprobe -a overlay veth tun
check "the checkout is mounted read-only at /work" sh -c 'grep -q " /work 9p ro" /proc/self/mounts && [ -f /work/Package.swift ]'
check "the static swrun runs" "$1" --version
check "the static probe runs" sh -c "'$2' exit 7; [ \$? = 7 ]"
if [ "$ENGINES" = 1 ]; then
	for e in containerd runc crun podman dockerd docker slirp4netns fuse-overlayfs; do
		check "$e is installed" command -v $e
	done
	check "containerd starts on demand" sh -c 'systemctl start containerd && ctr version | grep -q Server'
	check "docker starts on demand" sh -c 'systemctl start docker && docker info --format "{{.CgroupVersion}} {{.CgroupDriver}}" | grep -q "^2 "'
	check "podman runs (no service needed)" sh -c 'podman info --format "{{.Host.CgroupsVersion}}" | grep -qx v2'
fi

echo "$pass passed, $fail failed"
[ $fail = 0 ]
