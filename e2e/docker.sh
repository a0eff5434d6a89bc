#!/bin/bash
# Docker end to end: a private dockerd (own data root, exec root and socket, no networking
# setup), an image imported from a busybox-static rootfs, `docker run --runtime swrun`.
# Usage: e2e/docker.sh /abs/path/to/swrun
set -u
. "$(dirname "$0")/lib.sh"
export -f traces
SWRUN=$1
W=$(mktemp -d /tmp/swrun-e2e-dkr.XXXXXX)
export DOCKER_HOST=unix://$W/docker.sock
cleanup() {
    docker rm -f $(docker ps -aq) >/dev/null 2>&1
    [ -n "${DPID:-}" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
    umount -R "$W/data" "$W/exec" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT
dockerd --data-root "$W/data" --exec-root "$W/exec" --pidfile "$W/docker.pid" -H "$DOCKER_HOST" \
    --iptables=false --ip6tables=false --bridge=none --ip-masq=false --userland-proxy=false \
    --add-runtime "swrun=$SWRUN" --default-runtime swrun >"$W/dockerd.log" 2>&1 &
DPID=$!
for _ in $(seq 100); do docker version >/dev/null 2>&1 && break; sleep 0.2; done
docker version >/dev/null 2>&1 || { echo "dockerd did not start"; tail -20 "$W/dockerd.log"; exit 1; }

make_rootfs "$W/rootfs"
tar -C "$W/rootfs" -cf "$W/rootfs.tar" .
docker import "$W/rootfs.tar" swrun-e2e:latest >/dev/null || { echo "import failed"; exit 1; }
D="docker run --runtime swrun --network none"

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
out=$(docker exec d1 /bin/echo in 2>&1)
check "exec" [ "$out" = in ]
out=$(on_tty "docker exec -t d1 /bin/tty")
check "exec with tty" bash -c "grep -q /dev/pts/ <<<'$out'"
check "top (ps)" bash -c "docker top d1 | grep -q 'sleep 300'"
check "pause" docker pause d1
check "paused" bash -c "[ \"\$(docker inspect -f '{{.State.Status}}' d1)\" = paused ]"
check "unpause" docker unpause d1
check "update --memory" docker update --memory 64m --memory-swap 128m d1
out=$(docker exec d1 cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || docker exec d1 cat /sys/fs/cgroup/memory.max)
check "memory limit applied ($out)" [ "$out" = 67108864 ]
check "stop" docker stop -t 1 d1
check "rm" docker rm d1
check "nothing left of d1 (state, cgroups)" bash -c "[ -z \"\$(traces $ID1)\" ]"
check "detached run for kill" $D -d --name k1 swrun-e2e /bin/sleep 300
check "kill" docker kill k1
check "killed container exited (137)" bash -c "[ \"\$(docker inspect -f '{{.State.ExitCode}}' k1)\" = 137 ]"
check "rm after kill" docker rm k1
check "detached run for rm -f" $D -d --name f1 swrun-e2e /bin/sleep 300
check "rm -f of a running container" docker rm -f f1
sleep 0.3
check "no container process left" bash -c "! pgrep -f '^/bin/sleep 300\$' >/dev/null"
finish
