#!/bin/bash
# Shared helpers for the engine end-to-end tests: PASS/FAIL accounting, a busybox-static
# rootfs, and a locally built OCI image (no registry, no network).
pass=0 fail=0
ok()  { echo "PASS: $*"; pass=$((pass+1)); }
bad() { echo "FAIL: $*"; fail=$((fail+1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" = 0 ]; }

# make_rootfs DIR: busybox-static with every applet, /etc/passwd and /etc/group.
make_rootfs() {
    local d=$1 bb
    bb=$(command -v busybox || echo /bin/busybox)
    mkdir -p "$d"/{bin,etc,proc,sys,dev,tmp,root}
    cp "$bb" "$d/bin/busybox"
    for a in $("$bb" --list); do [ "$a" = busybox ] || ln -sf busybox "$d/bin/$a"; done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$d/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$d/etc/group"
}

# make_oci_image ROOTFS OUT.tar NAME: an OCI image layout archive of one layer.
make_oci_image() {
    local rootfs=$1 out=$2 name=$3 w
    w=$(mktemp -d)
    mkdir -p "$w/blobs/sha256"
    tar -C "$rootfs" --numeric-owner -cf "$w/layer.tar" .
    local diffid; diffid=$(sha256sum "$w/layer.tar" | cut -d' ' -f1)
    gzip -n "$w/layer.tar"
    local ldig lsize; ldig=$(sha256sum "$w/layer.tar.gz" | cut -d' ' -f1); lsize=$(stat -c %s "$w/layer.tar.gz")
    mv "$w/layer.tar.gz" "$w/blobs/sha256/$ldig"
    printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$diffid" >"$w/config.json"
    local cdig csize; cdig=$(sha256sum "$w/config.json" | cut -d' ' -f1); csize=$(stat -c %s "$w/config.json")
    mv "$w/config.json" "$w/blobs/sha256/$cdig"
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
        "$cdig" "$csize" "$ldig" "$lsize" >"$w/manifest.json"
    local mdig msize; mdig=$(sha256sum "$w/manifest.json" | cut -d' ' -f1); msize=$(stat -c %s "$w/manifest.json")
    mv "$w/manifest.json" "$w/blobs/sha256/$mdig"
    printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' \
        "$mdig" "$msize" "$name" >"$w/index.json"
    echo '{"imageLayoutVersion":"1.0.0"}' >"$w/oci-layout"
    tar -C "$w" -cf "$out" oci-layout index.json blobs
    rm -rf "$w"
}

# on_tty COMMAND: runs COMMAND with a real terminal (script(1)); script's stdin is a FIFO
# held open until the command ends, since an EOF there would hang up the terminal (CI has
# no stdin) however long a loaded machine takes.
on_tty() {
    local fifo keeper
    fifo=$(mktemp -u /tmp/swrun-tty.XXXXXX) && mkfifo "$fifo" || return 1
    sleep 600 >"$fifo" &
    keeper=$!
    script -qec "$1" /dev/null <"$fifo" 2>&1 | tr -d '\r'
    kill "$keeper" 2>/dev/null
    rm -f "$fifo"
}

# The cgroup driver the engine is configured with: cgroupfs (the default: `make e2e` on this
# hybrid host) or systemd (E2E_CGROUP_DRIVER=systemd: tests/vm/engines.sh in the test VM,
# systemd as PID 1 on pure cgroup v2). With systemd each container is a transient scope that
# the runtime asks systemd for (`--systemd-cgroup` on every call), and each engine's checks
# gain the scope's own: it is active while the container runs, with the container's init in
# its cgroup; the limits are the unit's properties; after removal systemd no longer knows the
# unit and its cgroup is gone.
DRIVER=${E2E_CGROUP_DRIVER:-cgroupfs}
case $DRIVER in
cgroupfs|systemd) ;;
*) echo "E2E_CGROUP_DRIVER=$DRIVER: expected cgroupfs or systemd"; exit 2 ;;
esac
systemd_driver() { [ "$DRIVER" = systemd ]; }

# unit_prop UNIT PROPERTY: the property's value, as `systemctl show` gives it.
unit_prop() { systemctl show -p "$2" --value "$1" 2>/dev/null; }

# scope_runs UNIT CGROUP PID: UNIT is active, its cgroup is CGROUP (as /proc/PID/cgroup
# writes it), that cgroup exists, and PID (the container's init) is in it.
scope_runs() {
    local unit=$1 cg=$2 pid=$3 state got own
    state=$(unit_prop "$unit" ActiveState) got=$(unit_prop "$unit" ControlGroup)
    own=$(sed -n 's/^0:://p' "/proc/$pid/cgroup" 2>/dev/null)
    [ "$state" = active ] && [ "$got" = "$cg" ] && [ "$own" = "$cg" ] && [ -d "/sys/fs/cgroup$cg" ] && return 0
    echo "  $unit: ActiveState=$state ControlGroup=$got; the init (pid ${pid:-?}) is in ${own:-?}; expected $cg"
    return 1
}

# unit_has UNIT PROPERTY=VALUE...: each property of UNIT has that value.
unit_has() {
    local unit=$1 kv v rc=0
    shift
    for kv in "$@"; do
        v=$(unit_prop "$unit" "${kv%%=*}")
        [ "$v" = "${kv#*=}" ] || { echo "  $unit: ${kv%%=*}=$v, expected ${kv#*=}"; rc=1; }
    done
    return $rc
}

# cgroup_has CGROUP FILE=VALUE...: each file of the cgroup (relative to /sys/fs/cgroup) holds
# that value.
cgroup_has() {
    local cg=$1 kv v rc=0
    shift
    for kv in "$@"; do
        v=$(cat "/sys/fs/cgroup$cg/${kv%%=*}" 2>&1)
        [ "$v" = "${kv#*=}" ] || { echo "  $cg/${kv%%=*}: $v, expected ${kv#*=}"; rc=1; }
    done
    return $rc
}

# exec_in CGROUP PATTERN: a process whose command line is PATTERN (pgrep -fx; an exec'd one,
# started detached) is in CGROUP.
exec_in() {
    local i pid=""
    for i in $(seq 50); do pid=$(pgrep -fx "$2" | head -n1); [ -n "$pid" ] && break; sleep 0.1; done
    local own; own=$(sed -n 's/^0:://p' "/proc/$pid/cgroup" 2>/dev/null)
    [ -n "$pid" ] && [ "$own" = "$1" ] && return 0
    echo "  '$2' (pid ${pid:-none}) is in ${own:-?}, expected $1"
    return 1
}

# unit_gone UNIT CGROUP: systemd no longer knows UNIT (not even as a failed unit to be reset)
# and the cgroup is gone. The runtime's delete waits for the stop job, but systemd unloads a
# stopped transient unit on its own time: allow it 5 s.
unit_gone() {
    local i load
    for i in $(seq 50); do
        load=$(unit_prop "$1" LoadState)
        [ "$load" = not-found ] && [ ! -d "/sys/fs/cgroup$2" ] && return 0
        sleep 0.1
    done
    echo "  $1: LoadState=$load ActiveState=$(unit_prop "$1" ActiveState) Result=$(unit_prop "$1" Result); cgroup $2 $([ -d "/sys/fs/cgroup$2" ] && echo exists || echo gone)"
    return 1
}

# keep_logs FILE...: with E2E_LOGS set, the daemons' logs are copied there before the
# scratch directory goes (tests/vm/engines.sh keeps them with the suite's results).
keep_logs() {
    [ -n "${E2E_LOGS:-}" ] || return 0
    mkdir -p "$E2E_LOGS" && cp "$@" "$E2E_LOGS/" 2>/dev/null
    return 0
}

# wait_for PATH [SECONDS]
wait_for() { local i=0; while [ ! -e "$1" ] && [ $i -lt $(( ${2:-30} * 10 )) ]; do sleep 0.1; i=$((i+1)); done; [ -e "$1" ]; }

# traces ID: swrun state directories (holding state.json) and cgroup directories of a
# container, wherever an engine put them. Used while it runs (to prove the check looks in
# the right places) and after it is removed (to prove nothing is left).
traces() {
    local id=$1
    find /run /tmp -maxdepth 7 -type f -name state.json -path "*/$id/state.json" 2>/dev/null
    # The name is the id (cgroupfs), or ends in "-ID" or "-ID.scope" (docker-ID.scope,
    # libpod-conmon-ID.scope, cri-containerd-ID.scope): "*ID*" also matched other people's
    # cgroups that happen to have the short id inside a hash.
    find /sys/fs/cgroup -maxdepth 7 -type d \( -name "$id" -o -name "*-$id" -o -name "*-$id.scope" \) 2>/dev/null
}
