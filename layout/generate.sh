#!/bin/bash
# Regenerates layout/swrun.order, the order in which lld lays out swrun's functions
# (docs/performance.md, "Text layout"). Usage: layout/generate.sh (make layout); root, Linux.
#
# 1. Builds swrun (release, static, lld) in its own scratch directory with a link map.
# 2. Runs the lifecycle verbs under layout/fntrace, which records every function each
#    process enters, in order: run; create, start, exec, state, list, ps, pause, resume,
#    kill, delete. The order file lists them: run's own process first, then its container
#    init, then what each later verb adds.
# 3. Relinks with the new order and reports the peak RSS of `run` before and after.
# Data is not ordered: an experiment that added the data symbols `run` faulted on, round by
# round, left the data pages mapped unchanged (584 KB); most of them are merged strings and
# the standard library's sections, which cannot move.
# The verbs run in a private mount namespace with /sys/fs/cgroup/unified unmounted, as
# bench/run.sh runs them. Nothing here is part of the runtime or its tests.
set -euo pipefail
if [ -z "${SWRUN_LAYOUT_INNER:-}" ]; then
    export SWRUN_LAYOUT_INNER=1
    exec unshare -m --propagation private "$0" "$@"
fi
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
for tool in gcc readelf python3; do
    command -v $tool >/dev/null || { echo "layout: $tool is needed (apt-get install gcc binutils python3)" >&2; exit 1; }
done
hybrid=
if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified; hybrid=1; fi
W=$(mktemp -d /tmp/swrun-layout.XXXXXX)
mount -t tmpfs -o size=512m swrun-layout "$W"
trap 'for id in $($W/swrun --root $W/state list -q 2>/dev/null); do $W/swrun --root $W/state delete -f $id; done; umount -l $W; rm -rf $W' EXIT
SCRATCH=${SWRUN_LAYOUT_SCRATCH:-$root/.build-layout}
ORDER=$here/swrun.order

link() {
    rm -f "$SCRATCH/release/swrun"
    (cd "$root" && SWRUN_TUNED=1 swift build -c release -Xswiftc -static-executable --scratch-path "$SCRATCH" --product swrun \
        -Xlinker -Map="$W/swrun.map" -Xlinker --no-demangle >"$W/build.log" 2>&1) || { cat "$W/build.log" >&2; exit 1; }
    # The verbs run the binary from a read-only mount: create and exec then need no sealed
    # copy (CVE-2019-5736), so the traced process is the binary itself.
    umount "$W/swrun" 2>/dev/null || true
    cp "$SCRATCH/release/swrun" "$W/swrun"
    mount --bind "$W/swrun" "$W/swrun" && mount -o remount,bind,ro "$W/swrun"
}

gcc -O2 -Wall -o "$W/fntrace" "$here/fntrace.c"
. "$root/e2e/lib.sh"
make_rootfs "$W/b/rootfs" >/dev/null
link
(cd "$W/b" && "$W/swrun" spec)
sed -i -e 's/"terminal": true/"terminal": false/' -e 's/^\(\t\t\t\)"sh"$/\1"\/bin\/true"/' "$W/b/config.json"
mkdir "$W/s" && sed -e 's|"path": "rootfs"|"path": "'"$W/b/rootfs"'"|' -e 's|"/bin/true"|"sleep", "60"|' "$W/b/config.json" >"$W/s/config.json"
rss() { for i in 1 2 3 4 5; do /usr/bin/time -f %M "$W/swrun" --root "$W/state" run -b "$W/b" rss 2>&1 >/dev/null | tail -1; done | sort -n | sed -n 3p; }
echo "layout: peak RSS of run before: $(rss) KB"

# 2. Functions.
python3 "$here/order.py" entries "$W/swrun" >"$W/entries"
S="$W/swrun --root $W/state"
n=0
trace() { n=$((n + 1)); "$W/fntrace" "$W/t$n" "$W/entries" "$@" >/dev/null; }
trace $S run -b "$W/b" t-run
trace $S create -b "$W/s" t-c
trace $S start t-c
trace $S exec t-c /bin/true
trace $S state t-c
trace $S list
trace $S ps t-c
trace $S pause t-c
trace $S resume t-c
trace $S kill t-c KILL
while $S state t-c 2>/dev/null | grep -q '"running"'; do sleep 0.05; done
trace $S delete t-c
# A run with cgroup2 mounted beside v1 (this host's hybrid layout, as the tests run) takes
# the clone-into-cgroup path; its functions are laid out after the rest.
if [ -n "$hybrid" ]; then
    mount -t cgroup2 swrun-layout-cgroup2 /sys/fs/cgroup/unified
    trace $S run -b "$W/b" t-run2
    umount /sys/fs/cgroup/unified
fi
python3 "$here/order.py" functions "$W/swrun" "$W/swrun.map" $(seq -f "$W/t%g" 1 $n) >"$ORDER.new"
mv "$ORDER.new" "$ORDER"

link
echo "layout: peak RSS of run after: $(rss) KB; $(wc -l <"$ORDER") symbols in layout/swrun.order"
