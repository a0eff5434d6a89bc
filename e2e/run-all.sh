#!/bin/bash
# Runs every engine's end-to-end test against one swrun binary; prints one summary line.
# Usage: e2e/run-all.sh /abs/path/to/swrun
set -u
dir=$(dirname "$0")
total_pass=0 total_fail=0
for engine in containerd docker podman podman-rootless; do
    echo "=== $engine"
    out=$(timeout 600 "$dir/$engine.sh" "$1" 2>&1)
    echo "$out" | grep -E '^(PASS|FAIL)'
    line=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1)
    if [ -z "$line" ]; then
        echo "$out" | tail -20
        total_fail=$((total_fail + 1))
        continue
    fi
    total_pass=$((total_pass + ${line%% passed*}))
    f=${line#*passed, }; total_fail=$((total_fail + ${f%% failed*}))
done
echo "e2e: $total_pass passed, $total_fail failed"
[ "$total_fail" = 0 ]
