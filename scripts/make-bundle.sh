#!/bin/bash
# make-bundle.sh SWRUN PROBE DIR: an OCI bundle whose rootfs is Debian's busybox-static, with
# the swrun probe and a demo script, and a config.json from `swrun spec` that runs the demo.
set -euo pipefail
swrun=$1 probe=$2 dir=$3
busybox=$(command -v busybox || echo /bin/busybox)
[ -x "$busybox" ] || { echo "make-bundle: busybox-static is not installed" >&2; exit 1; }
rm -rf "$dir"
mkdir -p "$dir/rootfs"/{bin,etc,proc,sys,dev,tmp,root,home}
cp "$busybox" "$dir/rootfs/bin/busybox"
for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$dir/rootfs/bin/$applet"
done
cp "$probe" "$dir/rootfs/bin/swrun-probe"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$dir/rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$dir/rootfs/etc/group"
cat >"$dir/rootfs/bin/swrun-demo" <<'DEMO'
#!/bin/sh
echo "hello from a swrun container"
echo "pid:      $$"
echo "hostname: $(hostname)"
echo "user:     $(id)"
grep -E '^Cap(Eff|Bnd)|^NoNewPrivs|^Seccomp:' /proc/self/status
echo "mounts:"
cat /proc/self/mounts | sed 's/^/  /'
DEMO
chmod 0755 "$dir/rootfs/bin/swrun-demo"
(cd "$dir" && "$swrun" spec)
sed -i -e 's/"terminal": true/"terminal": false/' \
       -e 's/^\(\t\t\t\)"sh"$/\1"\/bin\/swrun-demo"/' "$dir/config.json"
grep -q swrun-demo "$dir/config.json" || { echo "make-bundle: could not set args" >&2; exit 1; }
echo "bundle ready: $dir"
