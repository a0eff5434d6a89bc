#!/bin/bash
# vm/test.sh: run the VM suites (tests/vm/*.sh), each in a fresh VM, and end with one line
# "N passed, M failed" over all of them.
#
#   vm/test.sh [--suite NAME]... [--env NAME[=VALUE]]... [SWRUN [PROBE]]
#
# --env sets a variable for the suites in the guest (as vm/run.sh --env; VALUE defaults to
# ours), e.g. --env SWRUN_VM_ENGINES_RUNTIMES="swrun runc" for tests/vm/engines.sh.
# SWRUN and PROBE default to the checkout's .build/release/swrun and .build/probe/swrun-probe
# (both static: the guest runs them as they are, nothing is built in it). Each suite runs as
#   /work/tests/vm/NAME.sh SWRUN PROBE
# with the checkout read-only at /work and .build/vm-results/NAME/ read-write at /results
# (SWRUN_VM_RESULTS=/results); its whole output and the guest's console are kept in
# .build/vm-results/NAME.log and NAME.console. A suite prints PASS:/FAIL: lines and ends with
# "N passed, M failed"; one that ends without that line (it crashed, the VM died or timed
# out) counts as one failure. SWRUN_VM_SUITE_TIMEOUT (default 900 s) bounds each VM.
# Exit status: 0 when nothing failed.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

SUITES=() ENVS=()
while [ $# -gt 0 ]; do
	case $1 in
	--suite) SUITES+=("$2"); shift 2 ;;
	--env) ENVS+=(--env "$2"); shift 2 ;;
	-h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) break ;;
	esac
done
SWRUN=$(realpath "${1:-$VM_REPO/.build/release/swrun}")
PROBE=$(realpath "${2:-$VM_REPO/.build/probe/swrun-probe}")
for f in "$SWRUN" "$PROBE"; do [ -x "$f" ] || { echo "vm/test.sh: $f not built (make build probe)" >&2; exit 2; }; done
if [ ${#SUITES[@]} = 0 ]; then
	for s in "$VM_REPO"/tests/vm/*.sh; do n=${s##*/}; SUITES+=("${n%.sh}"); done
fi

# The binaries as the guest sees them: inside the checkout they are under /work; elsewhere
# their directory is shared read-only as well.
EXTRA=()
guest_path() { # HOSTPATH INDEX: sets GP (not in a $(...): EXTRA must survive)
	case $1 in
	"$VM_REPO"/*) GP=/work/${1#"$VM_REPO"/} ;;
	*) EXTRA+=(--share "$(dirname "$1"):/opt/bin$2:ro"); GP=/opt/bin$2/${1##*/} ;;
	esac
}
guest_path "$SWRUN" 1; GSWRUN=$GP
guest_path "$PROBE" 2; GPROBE=$GP

# Build or refresh the image once, up front, rather than inside the first suite's run.
"$VM_DIR/build.sh" > /dev/null || { echo "vm/test.sh: the VM image could not be built" >&2; echo "0 passed, 1 failed"; exit 1; }

RES=$VM_REPO/.build/vm-results
mkdir -p "$RES"
total_pass=0 total_fail=0 summary=()
for s in "${SUITES[@]}"; do
	[ -f "$VM_REPO/tests/vm/$s.sh" ] || { echo "vm/test.sh: no suite tests/vm/$s.sh" >&2; total_fail=$((total_fail + 1)); continue; }
	echo "=== $s"
	rm -rf "${RES:?}/$s"; mkdir -p "$RES/$s"
	start=$(date +%s)
	"$VM_DIR/run.sh" --timeout "${SWRUN_VM_SUITE_TIMEOUT:-900}" --no-build \
		--share "$VM_REPO:/work:ro" --share "$RES/$s:/results" "${EXTRA[@]}" \
		--env SWRUN_VM_RESULTS=/results "${ENVS[@]}" --console "$RES/$s.console" --workdir /work \
		-- /bin/sh "/work/tests/vm/$s.sh" "$GSWRUN" "$GPROBE" 2>&1 | tee "$RES/$s.log"
	rc=${PIPESTATUS[0]}
	secs=$(($(date +%s) - start))
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$RES/$s.log" | tail -n1)
	if [ -z "$line" ]; then
		echo "FAIL: suite $s ended without a summary (exit status $rc)"
		total_fail=$((total_fail + 1))
		summary+=("$(printf '%-10s no summary, exit status %s, %s s' "$s" "$rc" "$secs")")
		continue
	fi
	p=${line%% passed*} f=${line#*passed, }; f=${f%% failed}
	# A suite that failed nothing but exited non-zero still counts as failed.
	[ "$rc" = 0 ] || [ "$f" != 0 ] || f=1
	total_pass=$((total_pass + p)) total_fail=$((total_fail + f))
	summary+=("$(printf '%-10s %s passed, %s failed, %s s' "$s" "$p" "$f" "$secs")")
done
echo "=== summary (logs in $RES)"
printf '%s\n' "${summary[@]}"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" = 0 ]
