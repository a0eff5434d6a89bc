#!/bin/bash
# Docker end to end: a private dockerd (own data root, exec root and socket, no networking
# setup), an image imported from a busybox-static rootfs, `docker run --runtime swrun`. The
# runtime is registered in the daemon's daemon.json; a runc given instead is Docker's own
# runtime "runc". The cgroup driver is native.cgroupdriver=cgroupfs, or systemd with
# E2E_CGROUP_DRIVER=systemd (tests/vm/engines.sh), which adds the scope's checks (e2e/lib.sh).
# Usage: [E2E_CGROUP_DRIVER=systemd] e2e/docker.sh /abs/path/to/swrun (or runc)
set -u
. "$(dirname "$0")/lib.sh"
export -f traces
SWRUN=$1
W=$(mktemp -d /tmp/swrun-e2e-dkr.XXXXXX)
export DOCKER_HOST=unix://$W/docker.sock
cleanup() {
    keep_logs "$W/dockerd.log" "$W/daemon.json"
    docker rm -f $(docker ps -aq) >/dev/null 2>&1
    [ -n "${DPID:-}" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
    umount -R "$W/data" "$W/exec" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT
RT=swrun
if [ "${SWRUN##*/}" = runc ]; then
    RT=runc    # Docker's own, a reserved name
    printf '{"exec-opts": ["native.cgroupdriver=%s"]}\n' "$DRIVER" >"$W/daemon.json"
else
    printf '{"runtimes": {"swrun": {"path": "%s"}}, "default-runtime": "swrun",\n "exec-opts": ["native.cgroupdriver=%s"]}\n' \
        "$SWRUN" "$DRIVER" >"$W/daemon.json"
fi
dockerd --config-file "$W/daemon.json" --data-root "$W/data" --exec-root "$W/exec" --pidfile "$W/docker.pid" -H "$DOCKER_HOST" \
    --iptables=false --ip6tables=false --bridge=none --ip-masq=false --userland-proxy=false \
    >"$W/dockerd.log" 2>&1 &
DPID=$!
for _ in $(seq 100); do docker version >/dev/null 2>&1 && break; sleep 0.2; done
docker version >/dev/null 2>&1 || { echo "dockerd did not start"; tail -20 "$W/dockerd.log"; exit 1; }
drv=$(docker info --format '{{.CgroupDriver}}')
[ "$drv" = "$DRIVER" ] || { echo "dockerd uses the $drv cgroup driver, not $DRIVER"; exit 1; }

make_rootfs "$W/rootfs"
tar -C "$W/rootfs" -cf "$W/rootfs.tar" .
docker import "$W/rootfs.tar" swrun-e2e:latest >/dev/null || { echo "import failed"; exit 1; }
D="docker run --runtime $RT --network none"
# systemd: Docker's cgroupsPath is system.slice:docker:ID, the unit docker-ID.scope.
unit() { echo "docker-$1.scope"; }
ucg() { echo "/system.slice/docker-$1.scope"; }

check "run /bin/true" $D --rm swrun-e2e /bin/true
out=$($D --rm swrun-e2e /bin/echo hello 2>&1)
check "output" [ "$out" = hello ]
$D --rm swrun-e2e /bin/sh -c 'exit 3'; rc=$?
check "exit code 3" [ "$rc" = 3 ]
$D --rm swrun-e2e /nonexistent >/dev/null 2>&1; rc=$?
check "missing executable exits 127" [ "$rc" = 127 ]
out=$($D --rm --user 65534 swrun-e2e /bin/id -u 2>&1)
check "--user" [ "$out" = 65534 ]
out=$(on_tty "$D --rm -t swrun-e2e /bin/tty")
check "tty run" bash -c "grep -q /dev/pts/0 <<<'$out'"

check "detached run" $D -d --name d1 swrun-e2e /bin/sleep 300
ID1=$(docker inspect -f "{{.Id}}" d1)
check "state and cgroup of a running container are found" bash -c "traces $ID1 | grep -q state.json && traces $ID1 | grep -q /sys/fs/cgroup"
systemd_driver && check "scope $(unit $ID1) is active, the init in its cgroup" scope_runs "$(unit $ID1)" "$(ucg $ID1)" "$(docker inspect -f '{{.State.Pid}}' d1)"
out=$(docker exec d1 /bin/echo in 2>&1)
check "exec" [ "$out" = in ]
out=$(on_tty "docker exec -t d1 /bin/tty")
check "exec with tty" bash -c "grep -q /dev/pts/ <<<'$out'"
if systemd_driver; then
    check "detached exec" docker exec -d d1 /bin/sleep 301
    check "the exec'd process is in the scope's cgroup" exec_in "$(ucg $ID1)" "/bin/sleep 301"
fi
check "top (ps)" bash -c "docker top d1 | grep -q 'sleep 300'"
check "pause" docker pause d1
check "paused" bash -c "[ \"\$(docker inspect -f '{{.State.Status}}' d1)\" = paused ]"
check "unpause" docker unpause d1
check "update --memory" docker update --memory 64m --memory-swap 128m d1
out=$(docker exec d1 cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || docker exec d1 cat /sys/fs/cgroup/memory.max)
check "memory limit applied ($out)" [ "$out" = 67108864 ]
systemd_driver && check "update set the unit's MemoryMax and MemorySwapMax" unit_has "$(unit $ID1)" MemoryMax=67108864 MemorySwapMax=67108864
check "stop" docker stop -t 1 d1
check "rm" docker rm d1
check "nothing left of d1 (state, cgroups)" bash -c "[ -z \"\$(traces $ID1)\" ]"
if systemd_driver; then
    check "scope $(unit $ID1) and its cgroup are gone" unit_gone "$(unit $ID1)" "$(ucg $ID1)"
    # Limits as unit properties: --cpus 0.5 is a quota of 50 ms per 100 ms.
    check "detached run with --memory 64m --pids-limit 50 --cpus 0.5" $D -d --name l1 --memory 64m --pids-limit 50 --cpus 0.5 swrun-e2e /bin/sleep 300
    IDL=$(docker inspect -f "{{.Id}}" l1)
    check "scope $(unit $IDL) is active, the init in its cgroup" scope_runs "$(unit $IDL)" "$(ucg $IDL)" "$(docker inspect -f '{{.State.Pid}}' l1)"
    check "limits are the unit's properties (MemoryMax, TasksMax, CPUQuotaPerSecUSec)" unit_has "$(unit $IDL)" MemoryMax=67108864 TasksMax=50 CPUQuotaPerSecUSec=500ms
    check "and the scope's cgroup files (memory.max, pids.max, cpu.max)" cgroup_has "$(ucg $IDL)" memory.max=67108864 pids.max=50 "cpu.max=50000 100000"
    check "update --pids-limit 60 --cpus 0.25" docker update --pids-limit 60 --cpus 0.25 l1
    check "update set the unit's TasksMax and CPUQuotaPerSecUSec" unit_has "$(unit $IDL)" TasksMax=60 CPUQuotaPerSecUSec=250ms MemoryMax=67108864
    check "and the files (pids.max, cpu.max)" cgroup_has "$(ucg $IDL)" pids.max=60 "cpu.max=25000 100000" memory.max=67108864
    check "rm -f of the limited container" docker rm -f l1
    check "scope $(unit $IDL) and its cgroup are gone" unit_gone "$(unit $IDL)" "$(ucg $IDL)"
fi
check "detached run for kill" $D -d --name k1 swrun-e2e /bin/sleep 300
check "kill" docker kill k1
check "killed container exited (137)" bash -c "[ \"\$(docker inspect -f '{{.State.ExitCode}}' k1)\" = 137 ]"
IDK=$(docker inspect -f "{{.Id}}" k1)
check "rm after kill" docker rm k1
systemd_driver && check "scope $(unit $IDK) and its cgroup are gone" unit_gone "$(unit $IDK)" "$(ucg $IDK)"
check "detached run for rm -f" $D -d --name f1 swrun-e2e /bin/sleep 300
IDF=$(docker inspect -f "{{.Id}}" f1)
check "rm -f of a running container" docker rm -f f1
systemd_driver && check "scope $(unit $IDF) and its cgroup are gone" unit_gone "$(unit $IDF)" "$(ucg $IDF)"
sleep 0.3
check "no container process left" bash -c "! pgrep -f '^/bin/sleep 300\$' >/dev/null"
finish
