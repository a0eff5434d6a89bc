#!/bin/bash
# swrun vs runc vs crun, side by side, in one run. Usage: bench/run.sh SWRUN [OUT.md]
# Every case runs the three runtimes on the same bundle (busybox, the default `spec` config
# with terminal off) inside one private mount namespace where /sys/fs/cgroup/unified is
# unmounted, because crun 1.8.1 refuses this host's hybrid layout; so all three see the same
# pure-v1 cgroups. The runtimes are timed round-robin (bench/interleave.py), one run each per
# round, so that a noisy neighbour slows all three alike. Reports medians and the ratios
# swrun/crun and swrun/runc.
# BENCH_RUNS (default 30) and BENCH_N (containers for state/list, default 1000) scale it.
# The work directory (bundles and the three state roots) is a tmpfs, as /run is on a systemd
# host (on this machine /run is on ext4, whose inode allocator makes every runtime slower).
set -euo pipefail
if [ -z "${SWRUN_BENCH_INNER:-}" ]; then
    export SWRUN_BENCH_INNER=1
    exec unshare -m --propagation private "$0" "$@"
fi
mountpoint -q /sys/fs/cgroup/unified && umount /sys/fs/cgroup/unified
SWRUN=$1 OUT=${2:-/dev/stdout}
RUNS=${BENCH_RUNS:-30} N=${BENCH_N:-1000}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../e2e/lib.sh"
W=$(mktemp -d /tmp/swrun-bench.XXXXXX)
mount -t tmpfs -o size=512m swrun-bench "$W"
trap 'for r in swrun swrun-ro runc crun; do for id in $(${RT[$r]} list -q 2>/dev/null); do ${RT[$r]} delete -f $id >/dev/null 2>&1; done; done; umount -l $W; rm -rf $W' EXIT
make_rootfs "$W/bundle/rootfs"
(cd "$W/bundle" && "$SWRUN" spec)
sed -i -e 's/"terminal": true/"terminal": false/' -e 's/^\(\t\t\t\)"sh"$/\1"\/bin\/true"/' "$W/bundle/config.json"
B=$W/bundle
declare -A RT=([swrun]="$SWRUN --root $W/root-swrun" [runc]="runc --root $W/root-runc" [crun]="crun --root $W/root-crun")
NAMES="swrun crun runc"
results=$W/results.txt
: >"$results"

# measure CASE NAME=COMMAND...: medians in ms, appended to the results (interleaved rounds).
measure() {
    local case=$1; shift
    python3 "$here/interleave.py" "$results" "$case" "${ROUNDS:-$RUNS}" 3 "$@"
}

# 1. run /bin/true (the floor: the namespaces and a chroot, nothing else).
measure "run /bin/true (ms)" "swrun=${RT[swrun]} run -b $B b1" \
    "crun=${RT[crun]} run -b $B b1" "runc=${RT[runc]} run -b $B b1" "floor=unshare -m -u -i -n -p -f chroot $B/rootfs /bin/true"

# 2. create + start + wait + delete, as containerd sequences them. create (and exec)
# re-execute swrun from a read-only overlay view (CVE-2019-5736) unless its binary already
# lies on a read-only mount: "swrun-ro" is the same binary on a read-only bind mount, timed
# in the same rounds (its own row in the table).
cp "$SWRUN" "$W/swrun-ro" && mount --bind "$W/swrun-ro" "$W/swrun-ro" && mount -o remount,bind,ro "$W/swrun-ro"
RT[swrun-ro]="$W/swrun-ro --root $W/root-swrun-ro"
for r in $NAMES swrun-ro; do
    cat >"$W/seq-$r.sh" <<SEQ
#!/bin/sh
${RT[$r]} create -b $B --pid-file $W/p-$r s1 && ${RT[$r]} start s1
while ${RT[$r]} state s1 2>/dev/null | grep -q '"running"'; do :; done
${RT[$r]} delete s1
SEQ
    chmod +x "$W/seq-$r.sh"
done
measure "create+start+wait+delete (ms)" "swrun=$W/seq-swrun.sh" "swrun-ro=$W/seq-swrun-ro.sh" "crun=$W/seq-crun.sh" "runc=$W/seq-runc.sh"

# 3. exec into a running container
# Other bundles share the rootfs through an absolute root.path (runc refuses symlinks).
mkdir -p "$W/sleepb"
sed -e 's/"\/bin\/true"/"\/bin\/sleep", "1000"/' -e "s|\"path\": \"rootfs\"|\"path\": \"$B/rootfs\"|" "$B/config.json" >"$W/sleepb/config.json"
# (one id per runtime: the default cgroupsPath is the id, and the three run side by side)
for r in $NAMES; do ${RT[$r]} run -d -b "$W/sleepb" x1-$r >/dev/null; done
measure "exec /bin/true (ms)" "swrun=${RT[swrun]} exec x1-swrun /bin/true" "crun=${RT[crun]} exec x1-crun /bin/true" "runc=${RT[runc]} exec x1-runc /bin/true"
for r in $NAMES; do ${RT[$r]} delete -f x1-$r >/dev/null; done

# 4. state and list with N created containers per runtime, all of them existing at once so
# that the three are timed in the same rounds (one runtime after the other, list's ratio
# moved by 0.4 with the machine's drift). Ids carry the runtime's name: the default
# cgroupsPath is the id.
for r in $NAMES; do
    for i in $(seq 1 "$N"); do ${RT[$r]} create -b "$W/sleepb" "n$i-$r" >/dev/null 2>&1 || true; done
done
measure "state, $N containers (ms)" "swrun=${RT[swrun]} state n1-swrun" "crun=${RT[crun]} state n1-crun" "runc=${RT[runc]} state n1-runc"
measure "list, $N containers (ms)" "swrun=${RT[swrun]} list" "crun=${RT[crun]} list" "runc=${RT[runc]} list"
for r in $NAMES; do
    for i in $(seq 1 "$N"); do ${RT[$r]} delete -f "n$i-$r" >/dev/null 2>&1 || true; done
done

# 5. start with a docker-style seccomp profile (3 architectures, every syscall but a few allowed)
python3 - "$B/config.json" "$W/seccompb/config.json" <<'PY'
import json, os, re, sys
names = sorted(set(re.findall(r'#define __NR_(\w+)', open('/usr/include/x86_64-linux-gnu/asm/unistd_64.h').read())))
deny = {"acct", "add_key", "bpf", "kexec_load", "keyctl", "mount", "umount2", "pivot_root", "reboot", "swapon", "swapoff", "init_module", "delete_module"}
c = json.load(open(sys.argv[1]))
c["root"]["path"] = os.path.join(os.path.dirname(sys.argv[1]), "rootfs")
c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
    "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "syscalls": [{"names": [n for n in names if n not in deny], "action": "SCMP_ACT_ALLOW"},
                 {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
                 {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]}
import os; os.makedirs(os.path.dirname(sys.argv[2]), exist_ok=True)
json.dump(c, open(sys.argv[2], "w"))
PY
measure "run with a 3-arch seccomp profile (ms)" "swrun=${RT[swrun]} run -b $W/seccompb sc1" "crun=${RT[crun]} run -b $W/seccompb sc1" "runc=${RT[runc]} run -b $W/seccompb sc1"
# the same, with swrun's compiled-filter cache emptied before every run
measure "run with a 3-arch seccomp profile, uncached (ms)" --prepare "swrun=rm -rf $W/root-swrun/.cache" \
    "swrun=${RT[swrun]} run -b $W/seccompb sc1" "crun=${RT[crun]} run -b $W/seccompb sc1" "runc=${RT[runc]} run -b $W/seccompb sc1"

# 6. 100 containers started in parallel (total time)
for r in $NAMES; do
    cat >"$W/par-$r.sh" <<PAR
#!/bin/bash
for i in \$(seq 1 100); do ${RT[$r]} run -b $B p\$i & done
wait
PAR
    chmod +x "$W/par-$r.sh"
done
# Each timed burst starts on an idle machine (--settle): the previous runtime's 100 network
# namespaces are torn down by the kernel for seconds after its script has exited.
ROUNDS=${PAR_ROUNDS:-9} measure "100 parallel runs, total (ms)" --settle "swrun=$W/par-swrun.sh" "crun=$W/par-crun.sh" "runc=$W/par-runc.sh"

# 7. peak RSS of the runtime process (KB, median of 10) and binary size.
# A file's pages count in RSS as the kernel maps them: the 16 pages around each fault
# (fault-around), and since Linux 6.18 a whole large folio at once where the page cache
# holds one. How large the folios are depends on how the file entered the page cache (the
# write path, readahead), not on the program: the same swrun binary peaked at 2.7 MB or at
# 3.1 MB. So before this case each runtime's binary and shared libraries leave the page
# cache (POSIX_FADV_DONTNEED: clean pages that no process maps) and are read back through
# an MADV_RANDOM mapping, one page at a time, into single-page folios: every runtime is
# measured with the same page cache (docs/performance.md, "Text layout").
smallfolios() {
    python3 -c 'import mmap, os, sys
for p in sys.argv[1:]:
    fd = os.open(p, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    size = os.fstat(fd).st_size
    m = mmap.mmap(fd, size, prot=mmap.PROT_READ)
    m.madvise(mmap.MADV_RANDOM)
    for off in range(0, size, 4096): m[off]
    m.close(); os.close(fd)' "$@"
}
for r in $NAMES; do
    bin=$(echo "${RT[$r]}" | cut -d' ' -f1); bin=$(command -v "$bin" || echo "$bin")
    smallfolios "$bin" $(ldd "$bin" 2>/dev/null | grep -o '/[^ ]*' | sort -u)
    for i in $(seq 10); do /usr/bin/time -f %M ${RT[$r]} run -b $B m1 2>&1 >/dev/null | tail -1; done | sort -n | sed -n 5p | sed "s/^/peak RSS of run (KB) $r /" >>"$results"
    echo "binary size (KB) $r $(( $(stat -L -c %s "$bin") / 1024 ))" >>"$results"
done

python3 - "$results" "$SWRUN" >"$OUT" <<'PY'
import sys, collections, subprocess
rows = collections.OrderedDict()
for line in open(sys.argv[1]):
    parts = line.rsplit(None, 2)
    if len(parts) != 3: continue
    case, name, value = parts
    rows.setdefault(case, {})[name] = value
def f(v):
    try: return float(v)
    except: return None
print("| case | swrun | crun | runc | floor | swrun/crun | swrun/runc |")
print("|---|---|---|---|---|---|---|")
fmt = lambda v: "" if v is None else ("%.2f" % v if v < 1000 else "%.0f" % v)
def row(case, s, c, u, fl):
    print("| %s | %s | %s | %s | %s | %s | %s |" % (case, fmt(s), fmt(c), fmt(u), fmt(fl),
        "%.2f" % (s / c) if s and c else "", "%.2f" % (s / u) if s and u else ""))
for case, r in rows.items():
    s, c, u = f(r.get("swrun")), f(r.get("crun")), f(r.get("runc"))
    row(case, s, c, u, f(r.get("floor")))
    if "swrun-ro" in r:
        row(case.replace(" (ms)", ", swrun on a read-only mount (ms)"), f(r.get("swrun-ro")), c, u, None)
PY
