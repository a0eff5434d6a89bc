#!/bin/sh
# The cgroup2 suite again with the systemd cgroup driver (--systemd-cgroup on every call),
# plus the checks only a systemd scope has (tests/vm/cgroup2.sh, SWRUN_DRIVER=systemd).
# Runs INSIDE the project's VM. Usage: systemd.sh SWRUN PROBE
SWRUN_DRIVER=systemd exec /bin/sh "$(dirname "$0")/cgroup2.sh" "$@"
