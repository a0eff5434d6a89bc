#!/bin/sh
# The systemd cgroup driver's D-Bus client (SwrunSys/DBusConnection.swift,
# SwrunCore/Cgroups/Systemd/) against the VM's real systemd. Runs INSIDE the project's VM
# (vm/run.sh; vm/test.sh runs it) as root. Usage: systemd-dbus.sh SWRUN PROBE
# The client is driven by swrun-dbus-probe (Tests/DBusProbe), a static executable built
# beside swrun (`make build` builds every product): found next to SWRUN, or named by
# $SWRUN_DBUS_PROBE. It starts transient scopes in system.slice (systemd's own tree, as
# runc's --systemd-cgroup does; systemd removes them again), checks their cgroup files, and
# prints the time of each round trip (TIME: lines; TCG emulation, so loose).
# Prints PASS/FAIL lines and "N passed, M failed"; exits non-zero if anything failed.
set -u
pass=0 fail=0
ok()  { echo "PASS: $*"; pass=$((pass+1)); }
bad() { echo "FAIL: $*"; fail=$((fail+1)); }
finish() { echo "$pass passed, $fail failed"; [ $fail = 0 ]; exit $?; }

P=${SWRUN_DBUS_PROBE:-$(dirname "$1")/swrun-dbus-probe}
[ -x "$P" ] || { bad "swrun-dbus-probe not built (expected at $P: make build, or SWRUN_DBUS_PROBE)"; finish; }
[ -d /run/systemd/system ] || { bad "systemd is not PID 1"; finish; }
echo "$(systemctl --version | head -n1); probe $P"
W=/tmp/swrun-dbus
rm -rf $W; mkdir -p $W
cp "$P" $W/probe; chmod 755 $W $W/probe   # a local copy, which the unprivileged user below runs too

# probe ARGS...: runs the probe, shows its output, and counts its PASS/FAIL lines as ours.
probe() {
	out=$($W/probe "$@" 2>&1); rc=$?
	echo "$out" | grep -v -E '^[0-9]+ passed, [0-9]+ failed$'
	p=$(echo "$out" | grep -c '^PASS: '); f=$(echo "$out" | grep -c '^FAIL: ')
	pass=$((pass+p)) fail=$((fail+f))
	[ $rc = 0 ] || [ $f != 0 ] || bad "the probe exited $rc without a FAIL line"
	[ $p != 0 ] || bad "the probe ($*) passed nothing"
}

echo "--- systemd's private socket (/run/systemd/private)"
probe --failed --cycles 20 ${SWRUN_VM_RESULTS:+--record $SWRUN_VM_RESULTS/private.txt}
echo "--- the system bus (Hello and AddMatch pipelined)"
probe --bus --cycles 20 ${SWRUN_VM_RESULTS:+--record $SWRUN_VM_RESULTS/bus.txt}

left=$(systemctl list-units --all --plain --no-legend 'swrun-dbus-*' | wc -l)
[ "$left" = 0 ] && ok "no swrun-dbus unit is left behind" || bad "units left: $(systemctl list-units --all --plain --no-legend 'swrun-dbus-*')"
[ -z "$(ls -d /sys/fs/cgroup/system.slice/swrun-dbus-* 2>/dev/null)" ] && ok "no swrun-dbus cgroup is left behind" || bad "cgroups left: $(ls -d /sys/fs/cgroup/system.slice/swrun-dbus-*)"

# Errors come back with their D-Bus names. An unprivileged user: systemd's private socket
# is root's; on the bus, polkit refuses a transient unit of the system manager.
out=$(runuser -u tester -- $W/probe 2>&1)
case "$out" in *"FAIL: unexpected error: "*"/run/systemd/private"*) ok "the private socket refuses a non-root user: $(echo "$out" | sed -n 's/^FAIL: unexpected error: //p')" ;;
	*) bad "non-root on the private socket: $out" ;; esac
out=$(runuser -u tester -- $W/probe --bus 2>&1)
case "$out" in *"PASS: systemd's version read over the system bus"*"FAIL: unexpected error: start unit swrun-dbus-"*"org.freedesktop.DBus.Error."*)
	ok "the bus carries systemd's refusal to a user, by name: $(echo "$out" | sed -n 's/.*\(org\.freedesktop\.DBus\.Error\.[A-Za-z]*\).*/\1/p' | head -n1)" ;;
	*) bad "non-root on the bus: $out" ;; esac

finish
