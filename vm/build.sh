#!/bin/bash
# vm/build.sh: build the VM (kernel, initramfs, root image) into the cache, once per key.
#
#   vm/build.sh             build if the cached image is missing or stale; print its directory
#   vm/build.sh --force     rebuild even if it is up to date
#   vm/build.sh --key       print the current key and exit (builds nothing)
#
# The key (vm/lib.sh vm_key) hashes the kernel package version that linux-image-amd64 points
# at in the host's apt lists, the package list, the apt sources and these scripts, so editing
# any of them or an `apt-get update` that brings a new kernel makes the next run rebuild.
# Result: $SWRUN_VM_CACHE/images/KEY/ with
#   vmlinux         the kernel, uncompressed ELF with a PVH entry (QEMU boots it directly,
#                   skipping the xz decompressor, which is slow under TCG)
#   initramfs.cpio  busybox + the modules needed to mount the root disk (initramfs-init)
#   rootfs.img      ext4, Debian 12 from mmdebstrap (customize.sh), warmed by one boot
#   manifest.txt    what it was built from; packages.txt: every package and version;
#   build-times.txt seconds per step
# Needs root (mmdebstrap writes a root-owned tree), mmdebstrap, e2fsprogs, xz-utils,
# busybox-static, cpio (or busybox's), qemu-system-x86, apt with current lists.
# Never installs anything on the host and never touches the host's mounts or cgroups:
# mmdebstrap --mode=unshare does its chroot mounts in a private mount namespace.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

FORCE=0
case ${1:-} in
--force) FORCE=1 ;;
--key) kp=$(vm_kernel_pkg) || vm_die "cannot resolve $VM_KERNEL_META (run apt-get update)"; vm_key "$kp"; exit 0 ;;
-h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
"") ;;
*) vm_die "unknown option $1 (see --help)" ;;
esac

if ! kp=$(vm_kernel_pkg); then
	if [ $FORCE = 0 ] && img=$(vm_newest_image); then
		vm_log "cannot resolve $VM_KERNEL_META (no apt lists?): keeping the newest image, $img"
		echo "$img"
		exit 0
	fi
	vm_die "cannot resolve $VM_KERNEL_META in the apt lists (run apt-get update)"
fi
read -r KPKG KVERSION <<< "$kp"
KEY=$(vm_key "$kp")
OUT=$VM_CACHE/images/$KEY
# Up to date: nothing to do, and nothing below is needed (not even root).
if [ $FORCE = 0 ] && [ -f "$OUT/ready" ]; then
	echo "$OUT"
	exit 0
fi

[ "$(id -u)" = 0 ] || vm_die "building the image needs root (mmdebstrap writes a root-owned tree)"
for t in mmdebstrap mkfs.ext4 e2fsck xz dpkg-deb apt-get qemu-system-x86_64 flock; do
	command -v "$t" >/dev/null || vm_die "$t not found: apt-get install mmdebstrap e2fsprogs xz-utils qemu-system-x86 util-linux"
done
BUSYBOX=$(command -v busybox || echo /bin/busybox)
case $(LC_ALL=C ldd "$BUSYBOX" 2>&1 || true) in
*"not a dynamic executable"*|*"statically linked"*) ;;
*) vm_die "$BUSYBOX is not static: apt-get install busybox-static" ;;
esac

mkdir -p "$VM_CACHE/images" "$VM_CACHE/debs"

# One builder at a time; a second one waits here and then finds the image made.
exec 9> "$VM_CACHE/.build.lock"
flock 9
if [ $FORCE = 0 ] && [ -f "$OUT/ready" ]; then
	echo "$OUT"
	exit 0
fi

T=$(mktemp -d "$VM_CACHE/build.XXXXXX")
trap 'rm -rf "$T"' EXIT
t_all=$(date +%s.%N)
step_t=$t_all
# step NAME: records the seconds since the previous step under NAME.
step() {
	local now; now=$(date +%s.%N)
	awk -v n="$1" -v a="$step_t" -v b="$now" 'BEGIN { printf "%-10s %6.1f s\n", n, b - a }' >> "$T/build-times.txt"
	step_t=$now
}
vm_log "building image $KEY (kernel $KPKG $KVERSION; engines: $([ "$VM_ENGINES" = 0 ] && echo no || echo yes)) in $T"

# --- 1. the kernel: download the .deb (kept in debs/ across keys), never install it --------
if [ -n "${SWRUN_VM_KERNEL_DEB:-}" ]; then
	DEB=$SWRUN_VM_KERNEL_DEB
else
	DEB=$VM_CACHE/debs/${KPKG}_${KVERSION//:/%3a}_amd64.deb
	if [ ! -f "$DEB" ]; then
		vm_log "downloading $KPKG $KVERSION"
		# apt-get download writes into the cwd; _apt cannot write to the cache dir, so apt
		# warns that it downloads unsandboxed (harmless, filtered).
		(cd "$VM_CACHE/debs" && apt-get download -q "$KPKG=$KVERSION" 2>&1 | grep -v unsandboxed >&2 || true)
		[ -f "$DEB" ] || DEB=$(ls -t "$VM_CACHE/debs/${KPKG}_"*.deb 2>/dev/null | head -n1)
		[ -n "$DEB" ] && [ -f "$DEB" ] || vm_die "apt-get download $KPKG=$KVERSION failed"
		# Older kernels are of no further use.
		find "$VM_CACHE/debs" -name '*.deb' ! -path "$DEB" -delete
	fi
fi
dpkg-deb -x "$DEB" "$T/kernel"
KVER=$(ls "$T/kernel/lib/modules")
# The bzImage's payload is an xz stream holding the ELF vmlinux; find the stream's magic and
# decompress from there (the first offset that yields an ELF file is the one).
for off in $(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$T/kernel/boot/vmlinuz-$KVER" | cut -d: -f1 | head -n 5); do
	tail -c +$((off + 1)) "$T/kernel/boot/vmlinuz-$KVER" | xz -dc --single-stream > "$T/vmlinux" 2>/dev/null || true
	[ "$(head -c 4 "$T/vmlinux" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ] && break
	rm -f "$T/vmlinux"
done
[ -f "$T/vmlinux" ] || vm_die "no xz-compressed ELF vmlinux found in vmlinuz-$KVER"
# QEMU's -kernel boots an ELF only through its PVH note (Xen note type 18).
if command -v readelf >/dev/null && ! readelf -n "$T/vmlinux" | grep -q 'Xen.*0x00000012\|PHYS32_ENTRY'; then
	vm_die "vmlinux-$KVER has no PVH entry note"
fi
echo "$KVER" > "$T/kver"
step kernel

# --- 2. the root file system: mmdebstrap, customised by customize.sh ----------------------
pkgs=$(vm_packages | tr ' ' ',')
# Acquire::Check-Valid-Until/Check-Date false: the mirror may serve a snapshot whose
# Release file is older than its Valid-Until (the host's apt has the same options).
# path-exclude: no man pages, docs or translations in a test image.
mmdebstrap --mode=unshare --variant=minbase --quiet \
	--include="$pkgs" \
	--aptopt='Acquire::Check-Valid-Until "false"' \
	--aptopt='Acquire::Check-Date "false"' \
	--aptopt='Acquire::Languages "none"' \
	--dpkgopt='path-exclude=/usr/share/man/*' \
	--dpkgopt='path-exclude=/usr/share/info/*' \
	--dpkgopt='path-exclude=/usr/share/doc/*' \
	--dpkgopt='path-include=/usr/share/doc/*/copyright' \
	--dpkgopt='path-exclude=/usr/share/locale/*' \
	--customize-hook="'$VM_DIR/customize.sh' \"\$1\" '$T/kernel/lib/modules/$KVER'" \
	"$VM_SUITE" "$T/rootfs" "$VM_SOURCES" >&2
rm -rf "$T/kernel"
step mmdebstrap

# --- 3. the initramfs: static busybox, the modules to mount /dev/vda, initramfs-init ------
mkdir -p "$T/initramfs"/{bin,dev,proc,sys,newroot,modules}
cp "$BUSYBOX" "$T/initramfs/bin/busybox"
for a in sh mount umount insmod switch_root sleep cat; do ln -s busybox "$T/initramfs/bin/$a"; done
install -m 0755 "$VM_DIR/initramfs-init" "$T/initramfs/init"
# modprobe --show-depends (the image's kmod on the image's modules.dep; the host may have
# no kmod) lists each module after the ones it needs, as "insmod PATH".
for m in "${VM_INITRAMFS_MODULES[@]}"; do
	chroot "$T/rootfs" /sbin/modprobe -S "$KVER" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
done | awk '!seen[$0]++' | while read -r p; do
	cp "$T/rootfs$p" "$T/initramfs/modules/"
	echo "${p##*/}" >> "$T/initramfs/modules/order"
done
if command -v cpio >/dev/null; then mkcpio() { cpio --quiet -o -H newc -R 0:0; }
else mkcpio() { "$BUSYBOX" cpio -o -H newc 2>/dev/null; }; fi
(cd "$T/initramfs" && find . | LC_ALL=C sort | mkcpio) > "$T/initramfs.cpio"
rm -rf "$T/initramfs"
step initramfs

# --- 4. the ext4 image --------------------------------------------------------------------
dpkg-query --admindir="$T/rootfs/var/lib/dpkg" -W -f '${Package} ${Version}\n' > "$T/packages.txt"
used_mb=$(du -sm "$T/rootfs" | cut -f1)
size_mb=$((used_mb * 11 / 10 + VM_IMAGE_FREE_MB))
# -d copies the tree in; lazy_*_init=0 initialises inode tables and journal now, so that the
# guest's ext4lazyinit thread does not do it during the first boots.
mkfs.ext4 -q -F -L swrun-vm -E lazy_itable_init=0,lazy_journal_init=0,root_owner=0:0 \
	-d "$T/rootfs" "$T/rootfs.img" "${size_mb}M" >/dev/null
rm -rf "$T/rootfs"
step image

# --- 5. one writable boot: what every boot would otherwise compute is stored --------------
# Chiefly the AppArmor policy cache (apparmor.service compiles every profile on a cold cache,
# seconds under TCG) and the ConditionNeedsUpdate= work (ldconfig, hwdb, catalog). The boot
# must reach "running": a unit that fails here fails every run, so the build fails.
warm=$("$VM_DIR/run.sh" --image-dir "$T" --writable --timeout 600 --mem 1G -- \
	/bin/sh -c 'systemctl is-system-running; ls /var/cache/apparmor/*/ | wc -l; systemd-analyze time | head -1') ||
	vm_die "the warm-up boot failed: $warm"
state=$(echo "$warm" | sed -n 1p)
[ "$state" = running ] || vm_die "the warm-up boot ended $state, not running"
[ "$(echo "$warm" | sed -n 2p)" -gt 0 ] || vm_die "no AppArmor policy cache after the warm-up boot"
e2fsck -fy "$T/rootfs.img" >/dev/null 2>&1 || [ $? -le 1 ] || vm_die "the image is damaged after the warm-up boot"
step warmup

{
	echo "key $KEY"
	echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname)"
	echo "kernel $KPKG $KVERSION ($KVER), $(stat -c %s "$T/vmlinux") bytes vmlinux"
	echo "suite $VM_SUITE, sources $VM_SOURCES"
	echo "packages $(vm_packages)"
	echo "installed packages $(wc -l < "$T/packages.txt"), tree ${used_mb} MB, image ${size_mb} MB apparent, $(du -sm "$T/rootfs.img" | cut -f1) MB on disk"
	echo "warm-up boot: $(echo "$warm" | sed -n 3p)"
} > "$T/manifest.txt"
awk -v a="$t_all" -v b="$(date +%s.%N)" 'BEGIN { printf "%-10s %6.1f s\n", "total", b - a }' >> "$T/build-times.txt"
touch "$T/ready"

# Publish: a rename, so a run never sees half an image.
rm -rf "$OUT"
mv "$T" "$OUT"
trap - EXIT
chmod 755 "$OUT"
# Prune the other keys' images unless a run is using one (it holds the use lock shared).
exec 8> "$VM_CACHE/.use.lock"
if flock -n -x 8; then
	for d in "$VM_CACHE"/images/*/; do
		[ "${d%/}" = "$OUT" ] || rm -rf "${d%/}"
	done
	flock -u 8
fi
# Builds that died left their directories (we hold the build lock: none is running).
find "$VM_CACHE" -maxdepth 1 -name 'build.*' -exec rm -rf {} + 2>/dev/null || true
vm_log "image $KEY ready: $(sed -n 6p "$OUT/manifest.txt")"
sed 's/^/vm:   /' "$OUT/build-times.txt" >&2
echo "$OUT"
