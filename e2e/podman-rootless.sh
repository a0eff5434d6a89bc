#!/bin/bash
# Rootless Podman end to end: an unprivileged user (made here with useradd, which gives it
# /etc/subuid and /etc/subgid ranges; removed at the end) runs `podman --runtime R` with
# Debian's uidmap (newuidmap/newgidmap), --network none (this host's /dev/net/tun is 0600, so
# slirp4netns and pasta cannot open it: rootless networking is tested in the VM,
# tests/vm/rootless.sh), the cgroupfs manager (no systemd here). The same checks run against
# swrun and against runc, in this one script. Podman runs the runtime as root in its own user
# namespace (0 -> the user, 1.. -> its subordinate range): swrun is rootless there too.
# Usage: e2e/podman-rootless.sh /abs/path/to/swrun
set -u
. "$(dirname "$0")/lib.sh"
SWRUN=$1
RUNC=$(command -v runc || echo /usr/sbin/runc)
for t in podman newuidmap newgidmap useradd setpriv script; do
    command -v $t >/dev/null || { echo "FAIL: $t missing (make e2e-deps installs it)"; echo "0 passed, 1 failed"; exit 1; }
done
U=swe2e$$
W=$(mktemp -d /tmp/swrun-e2e-rl.XXXXXX)
chmod 755 "$W"
useradd -M -s /usr/sbin/nologin -U "$U" || { echo "FAIL: useradd $U"; echo "0 passed, 1 failed"; exit 1; }
UID_=$(id -u "$U") GID_=$(id -g "$U")
mkdir -p "$W/home" "$W/run"
chown "$UID_:$GID_" "$W/home" "$W/run"
chmod 700 "$W/run"
cat >"$W/containers.conf" <<CONF
[containers]
# The user's own hard limits are what a rootless container can have.
default_ulimits = []
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime_supports_json = ["crun", "runc", "swrun"]
CONF
chmod 644 "$W/containers.conf"
# The user's podman, with its own storage, run directory and configuration: $A runs a
# command as the user (a script, so that script(1) and bash -c can run it too).
A=$W/as-user
cat >"$A" <<EOS
#!/bin/sh
exec setpriv --reuid=$UID_ --regid=$GID_ --init-groups -- env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \\
    HOME=$W/home USER=$U XDG_RUNTIME_DIR=$W/run XDG_DATA_HOME=$W/home/data XDG_CONFIG_HOME=$W/home/config \\
    CONTAINERS_CONF=$W/containers.conf "\$@"
EOS
chmod 755 "$A"
cleanup() {
    $A podman rm -af -t 0 >/dev/null 2>&1
    # Rootless podman leaves its pause process (which holds its user namespace) behind.
    pause=$(cat "$W/run/libpod/tmp/pause.pid" 2>/dev/null)
    if [ -n "$pause" ]; then
        kill "$pause" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$pause" 2>/dev/null || break; sleep 0.1; done
    fi
    # userdel refuses while a process of the user runs: retried for a few seconds.
    for _ in $(seq 30); do userdel "$U" 2>/dev/null && break; sleep 0.2; done
    id "$U" >/dev/null 2>&1 && echo "warning: could not remove user $U" >&2
    rm -rf "$W"
}
trap cleanup EXIT

make_rootfs "$W/rootfs"
tar -C "$W/rootfs" -cf "$W/rootfs.tar" .
chmod 644 "$W/rootfs.tar"
$A podman import "$W/rootfs.tar" swrun-e2e >/dev/null 2>&1 || { echo "FAIL: import"; $A podman import "$W/rootfs.tar" swrun-e2e; echo "0 passed, 1 failed"; exit 1; }

# Everything the user's processes leave behind: containers' state directories of a runtime
# (runc's under $XDG_RUNTIME_DIR/runc, swrun's under .../swrun), and processes of the user's
# subordinate range.
leftovers() {
    find "$W/run/runc" "$W/run/swrun" -mindepth 1 -maxdepth 1 -type d ! -name '.*' 2>/dev/null
    ps -eo uid=,args= | awk -v lo="$(grep "^$U:" /etc/subuid | cut -d: -f2)" '$1 >= lo && $1 < lo + 65536 && $2 != "catatonit"'
}

checks() {
    local name=$1 rt=$2
    local P="$A podman --runtime $rt"
    local R="$P run --network none"
    check "$name: run" $R --rm swrun-e2e /bin/true
    out=$($R --rm swrun-e2e /bin/sh -c 'id -u; cat /proc/self/uid_map' 2>&1 | tr -s ' ' | tr '\n' '|')
    check "$name: root inside, the user outside ($out)" [ "$out" = "0| 0 $UID_ 1| 1 $(grep "^$U:" /etc/subuid | cut -d: -f2) 65536|" ]
    $R --rm swrun-e2e /bin/sh -c 'exit 3'; rc=$?
    check "$name: exit code 3" [ "$rc" = 3 ]
    $R --rm swrun-e2e /nonexistent >/dev/null 2>&1; rc=$?
    check "$name: missing executable exits 127" [ "$rc" = 127 ]
    out=$(on_tty "$A podman --runtime $rt run --network none --rm -t swrun-e2e /bin/tty")
    check "$name: run with a tty" bash -c "grep -q /dev/pts/0 <<<'$out'"
    check "$name: detached run" bash -c "$R -d --name d-$name swrun-e2e /bin/sleep 300 >/dev/null"
    check "$name: the leftovers check sees the running container" [ -n "$(leftovers)" ]
    out=$($P exec "d-$name" /bin/echo in 2>&1)
    check "$name: exec" [ "$out" = in ]
    out=$(on_tty "$A podman --runtime $rt exec -t d-$name /bin/tty")
    check "$name: exec with a tty" bash -c "grep -q /dev/pts/ <<<'$out'"
    check "$name: top" bash -c "$A podman --runtime $rt top d-$name | grep -q 'sleep 300'"
    check "$name: stop" bash -c "$P stop -t 1 d-$name >/dev/null 2>&1"
    check "$name: rm" bash -c "$P rm d-$name >/dev/null"
    check "$name: rm -f of a running container" bash -c "$A podman --runtime $rt run --network none -d --name f-$name swrun-e2e /bin/sleep 300 >/dev/null && $A podman --runtime $rt rm -f -t 0 f-$name >/dev/null"
    sleep 0.3
    left=$(leftovers)
    check "$name: nothing left (state, processes)${left:+: $left}" [ -z "$left" ]
}

checks swrun "$SWRUN"
checks runc "$RUNC"
finish
