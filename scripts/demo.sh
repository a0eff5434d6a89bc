#!/bin/bash
# demo.sh SWRUN PROBE DIR: make the busybox bundle in DIR, check it, run a container from it.
# An empty SWRUN means the swrun on PATH (a released one, installed from the .deb); without
# one, say how to get a toolchain or a binary.
set -euo pipefail
swrun=$1 probe=$2 dir=$3
if [ -z "$swrun" ]; then
    swrun=$(command -v swrun || true)
    if [ -z "$swrun" ]; then
        cat >&2 <<'MSG'
make demo: neither a Swift toolchain nor a swrun binary was found.
  - to build swrun: install a Swift toolchain for Debian 12 (README.md, "Two commands"),
    then run make demo again;
  - to use a released swrun: apt-get install ./swrun_VERSION_amd64.deb (or make demo
    SWRUN=/path/to/swrun).
MSG
        exit 1
    fi
fi
scripts/make-bundle.sh "$swrun" "$probe" "$dir"
echo "== swrun check -b $dir"
"$swrun" check -b "$dir"
echo "== swrun run (bundle: $dir)"
exec "$swrun" --root /run/swrun-demo run -b "$dir" "swrun-demo-$$"
