#!/bin/bash
# The pure cgroup v2 section of `make bench`, run INSIDE the test VM (docs/vm.md: systemd as
# PID 1, pure cgroup v2): swrun, crun and runc side by side, each with the cgroupfs driver
# and with the systemd driver (--systemd-cgroup), timed round-robin (bench/interleave.py).
# The VM runs under software emulation (TCG), which distorts absolute times: only ratios
# are reported. Usage (vm/bench.sh runs it): vm-v2.sh SWRUN OUT.md
# BENCH_VM_RUNS (default 15) rounds per case.
set -euo pipefail
SWRUN=$1 OUT=${2:-/dev/stdout}
RUNS=${BENCH_VM_RUNS:-15}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../e2e/lib.sh"
[ -n "${SWRUN_VM_CGROUP:-}" ] || { echo "vm-v2.sh: not in the VM (no SWRUN_VM_CGROUP)" >&2; exit 1; }
for t in runc crun python3; do command -v $t >/dev/null || { echo "vm-v2.sh: $t is missing" >&2; exit 1; }; done
W=$(mktemp -d /run/swrun-vmbench.XXXXXX)
declare -A RT
trap 'for k in "${!RT[@]}"; do for id in $(${RT[$k]} list -q 2>/dev/null); do ${RT[$k]} delete -f $id >/dev/null 2>&1; done; done; rm -rf $W' EXIT
cp "$SWRUN" "$W/swrun"
make_rootfs "$W/rootfs"
(cd "$W" && ./swrun spec)
sed -i -e 's/"terminal": true/"terminal": false/' -e 's/^\(\t\t\t\)"sh"$/\1"\/bin\/true"/' -e "s|\"path\": \"rootfs\"|\"path\": \"$W/rootfs\"|" "$W/config.json"
NAMES="swrun crun runc"
# One bundle per runtime and driver: cgroupfs containers below the job's delegated cgroup,
# systemd ones as scopes in system.slice.
for r in $NAMES; do
	bin=$r; [ $r = swrun ] && bin=$W/swrun
	for d in fs sd; do
		mkdir -p "$W/b-$r-$d"
		if [ $d = fs ]; then path="$SWRUN_VM_CGROUP/bench/$r"; flag=""; else path="system.slice:bench-$r:c"; flag=" --systemd-cgroup"; fi
		python3 - "$W/config.json" "$W/b-$r-$d/config.json" "$path" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["linux"]["cgroupsPath"] = sys.argv[3]
json.dump(c, open(sys.argv[2], "w"))
PY
		RT[$r-$d]="$bin --root $W/root-$r-$d$flag"
		cat >"$W/seq-$r-$d.sh" <<SEQ
#!/bin/sh
${RT[$r-$d]} create -b $W/b-$r-$d s1 && ${RT[$r-$d]} start s1
while ${RT[$r-$d]} state s1 2>/dev/null | grep -q '"running"'; do :; done
${RT[$r-$d]} delete s1
SEQ
		chmod +x "$W/seq-$r-$d.sh"
	done
done
results=$W/results.txt
: >"$results"
measure() {
	local case=$1; shift
	python3 "$here/interleave.py" "$results" "$case" "$RUNS" 2 "$@"
}
for d in fs sd; do
	label=cgroupfs; [ $d = sd ] && label=systemd
	measure "run /bin/true, $label" "swrun=${RT[swrun-$d]} run -b $W/b-swrun-$d r1" "crun=${RT[crun-$d]} run -b $W/b-crun-$d r1" "runc=${RT[runc-$d]} run -b $W/b-runc-$d r1"
	measure "create+start+wait+delete, $label" "swrun=$W/seq-swrun-$d.sh" "crun=$W/seq-crun-$d.sh" "runc=$W/seq-runc-$d.sh"
done
leftover=$(systemctl list-units --all --plain --no-legend 'bench-*' | wc -l)

python3 - "$results" "$leftover" "$(uname -r)" "$(systemctl --version | head -1)" >"$OUT" <<'PY'
import sys, collections
rows = collections.OrderedDict()
for line in open(sys.argv[1]):
    parts = line.rsplit(None, 2)
    if len(parts) == 3:
        rows.setdefault(parts[0], {})[parts[1]] = parts[2]
def f(v):
    try: return float(v)
    except (TypeError, ValueError): return None
print("Pure cgroup v2 in the test VM (kernel %s, %s; TCG emulation: ratios only)." % (sys.argv[3], sys.argv[4]))
print()
print("| case | swrun/crun | swrun/runc |")
print("|---|---|---|")
for case, r in rows.items():
    s, c, u = f(r.get("swrun")), f(r.get("crun")), f(r.get("runc"))
    ratio = lambda a, b: "%.2f" % (a / b) if a and b else "failed"
    print("| %s | %s | %s |" % (case, ratio(s, c), ratio(s, u)))
fs = f(rows.get("create+start+wait+delete, cgroupfs", {}).get("swrun"))
sd = f(rows.get("create+start+wait+delete, systemd", {}).get("swrun"))
if fs and sd:
    print()
    print("swrun with the systemd driver / swrun with cgroupfs, create+start+wait+delete: %.2f" % (sd / fs))
if sys.argv[2] != "0":
    print()
    print("units left behind: %s" % sys.argv[2])
PY
