#!/bin/sh
# Rootless on pure cgroup v2, as the lingering user tester (uid 1000, /etc/subuid and
# /etc/subgid ranges, its systemd instance user@1000.service running): swrun from a
# `spec --rootless` config, with the systemd driver on the user's instance (limits applied
# through the delegated controllers) and with cgroupfs in a delegated cgroup; then rootless
# Podman with its default networking (slirp4netns) and limits. Every check runs twice, against
# swrun and against runc, in this one script. Runs INSIDE the project's VM, as root; the
# user's part runs in a service of tester's own instance (systemd-run --user), where a
# rootless runtime is (the instance moves a container's init into its scope only from there).
# Usage: rootless.sh SWRUN PROBE. Prints PASS/FAIL lines and "N passed, M failed".
set -u
pass=0 fail=0
[ -n "${SWRUN_VM_CGROUP:-}" ] || { echo "FAIL: not in the VM (no SWRUN_VM_CGROUP)"; echo "0 passed, 1 failed"; exit 1; }
U=tester
UIDN=$(id -u $U)
W=/tmp/swrun-rootless
rm -rf $W
mkdir -p $W/rootfs/bin $W/rootfs/etc $W/rootfs/proc $W/rootfs/sys $W/rootfs/dev $W/rootfs/tmp
cp "$1" $W/swrun; cp "$2" $W/rootfs/bin/swrun-probe
cp /bin/busybox $W/rootfs/bin/busybox
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox $W/rootfs/bin/$a; done
echo 'root:x:0:0:root:/root:/bin/sh' > $W/rootfs/etc/passwd
echo 'root:x:0:' > $W/rootfs/etc/group
tar -C $W/rootfs -cf $W/rootfs.tar .
chmod -R a+rX $W
chown $U:$U $W
echo "kernel $(uname -r); $U's instance: $(cat /sys/fs/cgroup/user.slice/user-$UIDN.slice/user@$UIDN.service/cgroup.controllers) delegated"

cat > $W/user.sh <<'USER'
#!/bin/sh
# The user's part: runs as tester in a service of its own systemd instance.
set -u
W=$1
ok()  { echo "PASS: $*"; }
bad() { echo "FAIL: $*"; }
CG=/sys/fs/cgroup
MGR=$(sed -n 's/^0:://p' /proc/self/cgroup | sed 's|/app.slice/.*||')
echo "user $(id -u), in $(sed -n 's/^0:://p' /proc/self/cgroup), instance cgroup $MGR"
pid_of() { $1 state $2 2>/dev/null | tr ',' '\n' | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p'; }

# bundle NAME RT ARGS_JSON RESOURCES_JSON: a config from `RT spec --rootless`.
bundle() {
	B=$W/b-$1; rm -rf $B; mkdir -p $B
	(cd $B && $2 spec --rootless) || { bad "$1: spec --rootless"; return 1; }
	sed -i -e 's|"terminal": true|"terminal": false|' -e "s|^\(\t*\)\"sh\"$|\1$3|" -e "s|\"path\": \"rootfs\"|\"path\": \"$W/rootfs\"|" \
		-e "s|^\t\"linux\": {|\t\"linux\": {\"resources\": $4,|" $B/config.json
	sed -i -e 's|"readonly": true|"readonly": false|' $B/config.json
}

checks() {
	N=$1 RT="$2 --root $W/state-$1"
	# 1. spec --rootless, run: root inside, tester outside.
	bundle $N "$RT" '"sh", "-c", "id -u; cat /proc/self/uid_map"' '{}'
	out=$(cd $B && $RT run $N-1 2>&1 | tr -s ' ' | tr '\n' '|')
	[ "$out" = "0| 0 1000 1|" ] && ok "$N: spec --rootless, run" || bad "$N: run: $out"

	# CVE-2023-25809: /sys/fs/cgroup is read-only in a rootless container, with and without a
	# cgroup namespace (the user's own cgroup would be writable through it otherwise).
	for cgns in no yes; do
		bundle $N "$RT" '"sh", "-c", "/bin/swrun-probe write /sys/fs/cgroup/cgroup.procs; if mkdir /sys/fs/cgroup/x 2>/dev/null; then echo made; else echo refused; fi"' '{}'
		[ $cgns = yes ] && python3 -c 'import json,sys; p=sys.argv[1]; c=json.load(open(p)); ns=c["linux"]["namespaces"]; ns += [] if any(n["type"] == "cgroup" for n in ns) else [{"type": "cgroup"}]; json.dump(c, open(p, "w"), indent=1)' $B/config.json
		out=$(cd $B && $RT run $N-ro-$cgns 2>&1 | tr '\n' ' ')
		[ "$out" = "EROFS refused " ] && ok "$N: /sys/fs/cgroup read-only (cgroup namespace: $cgns)" || bad "$N: /sys/fs/cgroup (cgroup namespace: $cgns): $out (namespaces: $(python3 -c 'import json,sys; print([n["type"] for n in json.load(open(sys.argv[1]))["linux"]["namespaces"]])' $B/config.json))"
	done

	# 2. The systemd driver on the user's instance, with limits.
	bundle $N "$RT" '"sleep", "300"' '{"memory": {"limit": 67108864}, "pids": {"limit": 32}, "cpu": {"quota": 50000, "period": 100000}}'
	(cd $B && $RT --systemd-cgroup run -d $N-2) && ok "$N: --systemd-cgroup run -d with limits" || bad "$N: --systemd-cgroup run -d"
	P=$(pid_of "$RT" $N-2)
	SC=$MGR/user.slice/runc-$N-2.scope
	[ "$(sed -n 's/^0:://p' /proc/$P/cgroup)" = "$SC" ] && ok "$N: the init is in runc-$N-2.scope below the instance" || bad "$N: init's cgroup: $(cat /proc/$P/cgroup)"
	[ "$(systemctl --user is-active runc-$N-2.scope)" = active ] && ok "$N: the scope is an active unit of the user's instance" || bad "$N: scope not active"
	v="$(cat $CG$SC/memory.max) $(cat $CG$SC/pids.max) $(cat $CG$SC/cpu.max)"
	[ "$v" = "67108864 32 50000 100000" ] && ok "$N: limits in the scope's cgroup ($v)" || bad "$N: limits: $v"
	v=$(systemctl --user show -p MemoryMax -p TasksMax runc-$N-2.scope | tr '\n' ' ')
	[ "$v" = "MemoryMax=67108864 TasksMax=32 " ] && ok "$N: limits as unit properties" || bad "$N: properties: $v"
	out=$($RT exec $N-2 sh -c 'for i in $(seq 1 40); do (sleep 20 &) ; done 2>&1 | grep -c fork; cat /sys/fs/cgroup/pids.current 2>/dev/null || cat /proc/self/cgroup' 2>&1)
	case "$out" in [1-9]*) ok "$N: the pids limit stops a fork loop ($(echo $out | tr '\n' ' '))" ;; *) bad "$N: fork loop: $out" ;; esac
	$RT pause $N-2 && [ "$(cat $CG$SC/cgroup.freeze)" = 1 ] && $RT resume $N-2 && [ "$(cat $CG$SC/cgroup.freeze)" = 0 ] \
		&& ok "$N: pause and resume" || bad "$N: pause/resume"
	$RT update --memory 134217728 $N-2 && [ "$(cat $CG$SC/memory.max)" = 134217728 ] && ok "$N: update" || bad "$N: update: $(cat $CG$SC/memory.max)"
	$RT delete -f $N-2
	sleep 0.5
	[ ! -d $CG$SC ] && ! systemctl --user is-active -q runc-$N-2.scope && ok "$N: delete stops the unit, removes its cgroup" || bad "$N: scope left"

	# 3. A limit the instance was not given (cpuset): swrun refuses it before the unit exists.
	if [ $N = swrun ]; then
		bundle $N "$RT" '"true"' '{"cpu": {"cpus": "0"}}'
		(cd $B && $RT --systemd-cgroup run $N-3 >$W/err-$N 2>&1) && bad "$N: a cpuset limit without the cpuset controller ran" || ok "$N: a cpuset limit without the controller is refused"
		grep -q 'cpuset controller is not delegated' $W/err-$N && ok "$N: the refusal names the controller" || bad "$N: refusal: $(cat $W/err-$N)"
		systemctl --user is-active -q runc-$N-3.scope && bad "$N: scope of a refused create left" || true
	fi

	# 4. cgroupfs in the delegated subtree (runc's fs2: beside the service, below its parent
	#    app.slice, whose delegated controllers are enabled), with a limit.
	bundle $N "$RT" '"sleep", "300"' '{"pids": {"limit": 16}}'
	(cd $B && $RT run -d $N-4) || bad "$N: cgroupfs run -d"
	P=$(pid_of "$RT" $N-4)
	own=$(sed -n 's/^0:://p' /proc/self/cgroup)
	parent=${own%/*}
	[ "$(sed -n 's/^0:://p' /proc/$P/cgroup)" = "$parent/$N-4" ] && ok "$N: cgroupfs: a cgroup of its own in the delegated subtree" || bad "$N: cgroupfs: $(cat /proc/$P/cgroup)"
	[ "$(cat $CG$parent/$N-4/pids.max 2>&1)" = 16 ] && ok "$N: cgroupfs: its limit" || bad "$N: cgroupfs pids.max: $(cat $CG$parent/$N-4/pids.max 2>&1)"
	$RT delete -f $N-4
	[ ! -d $CG$parent/$N-4 ] && ok "$N: cgroupfs: removed" || bad "$N: cgroupfs cgroup left"

	# 5. Rootless Podman, default network (slirp4netns), limits on the user's instance.
	PD="podman --runtime $2 --storage-driver vfs --events-backend file"
	out=$($PD run --rm swrun-e2e /bin/sh -c 'id -u; grep -c tap0 /proc/net/dev' 2>&1 | tr '\n' '|')
	[ "$out" = "0|1|" ] && ok "$N: podman run with slirp4netns" || bad "$N: podman run: $out"
	$PD run -d --name c-$N --network none --memory 64m --pids-limit 50 swrun-e2e /bin/sleep 300 >/dev/null && ok "$N: podman run -d with limits" || bad "$N: podman run -d"
	v=$($PD exec c-$N sh -c 'cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max' 2>&1 | tr '\n' ' ')
	[ "$v" = "67108864 50 " ] && ok "$N: podman exec sees its limits ($v)" || bad "$N: podman limits: $v"
	out=$(script -qec "$PD exec -t c-$N /bin/tty" /dev/null </dev/null 2>&1 | tr -d '\r')
	case "$out" in */dev/pts/*) ok "$N: podman exec -t" ;; *) bad "$N: podman exec -t: $out" ;; esac
	$PD stop -t 1 c-$N >/dev/null 2>&1 && ok "$N: podman stop" || bad "$N: podman stop"
	$PD rm c-$N >/dev/null && ok "$N: podman rm" || bad "$N: podman rm"
	left=$(systemctl --user list-units --all --plain --no-legend 'libpod-*' 'runc-*' 2>/dev/null | wc -l)
	[ "$left" = 0 ] && ok "$N: no unit left" || bad "$N: units left: $(systemctl --user list-units --all --plain --no-legend 'libpod-*' 'runc-*')"
}

podman --storage-driver vfs --events-backend file import $W/rootfs.tar swrun-e2e >/dev/null 2>&1 || bad "podman import"
checks swrun $W/swrun
checks runc runc
USER
chmod 755 $W/user.sh

out=$(runuser -u $U -- env XDG_RUNTIME_DIR=/run/user/$UIDN DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/$UIDN/bus \
	systemd-run --user --pipe --wait --quiet --collect -p Delegate=yes -E XDG_RUNTIME_DIR=/run/user/$UIDN \
	-E DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/$UIDN/bus /bin/sh $W/user.sh $W 2>&1)
echo "$out"
pass=$(echo "$out" | grep -c '^PASS')
fail=$(echo "$out" | grep -c '^FAIL')
[ "$pass" -gt 0 ] || fail=$((fail + 1))
# Nothing of the containers is left in the user's instance's tree.
left=$(find /sys/fs/cgroup/user.slice/user-$UIDN.slice/user@$UIDN.service/user.slice -name 'runc-*' -o -name 'libpod-*' 2>/dev/null | wc -l)
[ "$left" = 0 ] && { echo "PASS: no container cgroup left in the user's instance"; pass=$((pass+1)); } || { echo "FAIL: cgroups left"; fail=$((fail+1)); }
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
