#!/bin/bash
# Fuzz/run.sh [--time SECONDS | --runs N]: builds the two libFuzzer targets (swift's
# -sanitize=fuzzer, in .build-fuzz) and runs each, seeded with Fuzz/corpus/ and the spec's
# dictionary. A crash, a leak or a timeout leaves its input in .build-fuzz/artifacts/ and
# fails the run; keep such an input in Fuzz/corpus/ once fixed (the corpus replays in
# `make test`). docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
limit=(-max_total_time=600)
case "${1:-}" in
    --time) limit=(-max_total_time="$2") ;;
    --runs) limit=(-runs="$2") ;;
    "") ;;
    *) echo "usage: Fuzz/run.sh [--time SECONDS | --runs N]" >&2; exit 2 ;;
esac
build=(swift build -c release --scratch-path .build-fuzz -Xswiftc -sanitize=fuzzer -Xswiftc -D -Xswiftc SWRUN_FUZZ)
"${build[@]}" --product swrun-fuzz-config 2>&1 | grep -v "statically linked" | tail -2
"${build[@]}" --product swrun-fuzz-cli 2>&1 | grep -v "statically linked" | tail -2
mkdir -p .build-fuzz/artifacts .build-fuzz/work/config .build-fuzz/work/cli
rc=0
# -timeout: one input may not take 5 seconds (a hang is a bug; a loaded 2-core machine has
# stalled a millisecond input past 1 s); -rss_limit_mb: nor grow past 1 GiB (unbounded
# reading or building is a bug); -max_len: configs up to 64 KB.
common=(-timeout=5 -rss_limit_mb=1024 -artifact_prefix=.build-fuzz/artifacts/ -print_final_stats=1)
# fuzz NAME LOG BINARY ARGS...: runs one target, shows its summary lines, and returns the
# target's own status (a crash, leak or timeout is non-zero). Not `target | grep`: with
# pipefail, `|| true` after such a pipeline hid the target's failure (PIPESTATUS is then
# true's).
fuzz() {
    local name=$1 log=$2 st=0; shift 2
    echo "== $name fuzzer: ${limit[*]}"
    "$@" >"$log" 2>&1 || st=$?
    grep -E "^(#[0-9]+ +DONE|Done|stat::number_of_executed_units|==[0-9]+== ERROR|SUMMARY|artifact_prefix|Test unit written)" "$log" || true
    [ "$st" = 0 ] || echo "$name fuzzer: exit status $st (log: $log)"
    return "$st"
}
fuzz config .build-fuzz/config.log .build-fuzz/release/swrun-fuzz-config "${limit[@]}" "${common[@]}" -max_len=65536 -dict=Fuzz/spec.dict \
    .build-fuzz/work/config Fuzz/corpus/config || rc=1
fuzz CLI .build-fuzz/cli.log .build-fuzz/release/swrun-fuzz-cli "${limit[@]}" "${common[@]}" -max_len=4096 \
    .build-fuzz/work/cli Fuzz/corpus/cli || rc=1
if [ "$rc" != 0 ]; then echo "fuzz: FAILED (inputs in .build-fuzz/artifacts/)"; else echo "fuzz: no crash, hang or leak"; fi
exit $rc
