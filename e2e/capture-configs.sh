#!/bin/bash
# capture-configs.sh OUTDIR: the config.json that a default `podman run` and a default
# `docker run` hand to their OCI runtime, captured by a wrapper runtime that copies the
# bundle's config.json and then runs runc. Used to refresh the engine fixtures in
# Tests/OCISpecTests/Fixtures/engines/ (their seccomp profiles are the engines' defaults).
# Podman and dockerd run privately under a temporary directory, as in podman.sh/docker.sh.
set -eu
. "$(dirname "$0")/lib.sh"
OUT=$(realpath "$1")
mkdir -p "$OUT"
W=$(mktemp -d /tmp/swrun-capture.XXXXXX)
cleanup() {
    [ -n "${DPID:-}" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
    podman --root "$W/storage" --runroot "$W/run" rm -af >/dev/null 2>&1 || true
    umount -R "$W/storage" "$W/run" "$W/data" "$W/exec" 2>/dev/null || true
    rm -rf "$W"
}
trap cleanup EXIT
# The wrapper: copies config.json on create (environment variables do not reach it
# through conmon, so the destination is written into it), then is runc (runc's own flags pass through).
cat >"$W/capture-runtime" <<WRAP
#!/bin/bash
for ((i = 1; i <= \$#; i++)); do
    if [ "\${!i}" = create ]; then
        b=.; for ((j = i; j <= \$#; j++)); do
            case "\${!j}" in --bundle|-b) k=\$((j + 1)); b=\${!k} ;; --bundle=*) b=\${!j#--bundle=} ;; esac
        done
        cp "\$b/config.json" "$W/captured.json"
    fi
done
exec runc "\$@"
WRAP
chmod +x "$W/capture-runtime"
make_rootfs "$W/rootfs"
tar -C "$W/rootfs" -cf "$W/rootfs.tar" .

# Podman: its defaults (containers.conf only sets what this host needs to run at all).
cat >"$W/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
export CONTAINERS_CONF=$W/containers.conf
P="podman --root $W/storage --runroot $W/run --tmpdir $W/tmp --runtime $W/capture-runtime --storage-driver overlay"
$P import "$W/rootfs.tar" capture >/dev/null
$P run --rm --network none capture /bin/true
mv "$W/captured.json" "$OUT/podman-default.json"
# Newer containers.conf defaults leave CAP_AUDIT_WRITE out; the profile then has several
# `socket` rules with different argument conditions and actions instead of one.
$P run --rm --network none --cap-drop AUDIT_WRITE capture /bin/true
mv "$W/captured.json" "$OUT/podman-no-audit-write.json"

# Docker: a private dockerd with the wrapper as its default runtime.
export DOCKER_HOST=unix://$W/docker.sock
dockerd --data-root "$W/data" --exec-root "$W/exec" --pidfile "$W/docker.pid" -H "$DOCKER_HOST" \
    --iptables=false --ip6tables=false --bridge=none --ip-masq=false --userland-proxy=false \
    --add-runtime "capture=$W/capture-runtime" --default-runtime capture >"$W/dockerd.log" 2>&1 &
DPID=$!
for _ in $(seq 100); do docker version >/dev/null 2>&1 && break; sleep 0.2; done
docker import "$W/rootfs.tar" capture:latest >/dev/null
docker run --rm --network none capture /bin/true
mv "$W/captured.json" "$OUT/docker-default.json"
ls -la "$OUT"
