# vm/lib.sh: settings and helpers shared by vm/build.sh, vm/run.sh and vm/test.sh.
# Sourced, not run. Bash.
#
# What the VM is (docs/vm.md): Debian's own kernel, fetched with `apt-get download` and never
# installed on the host, booted by qemu-system-x86_64 under TCG through the PVH entry of its
# uncompressed vmlinux; a Debian 12 root filesystem made by mmdebstrap in an ext4 image,
# attached with -snapshot so that every boot starts from the same pristine image.

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
VM_REPO=$(cd "$VM_DIR/.." && pwd -P)

# Bump when the layout of the cache or the meaning of a build changes in a way the inputs
# hashed by vm_key do not show.
VM_FORMAT=1

# Everything built lives here: debs/ (the kernel package as downloaded), images/KEY/ (one
# kernel + initramfs + root image per key), and the lock files.
VM_CACHE=${SWRUN_VM_CACHE:-/var/cache/swrun-vm}

VM_SUITE=bookworm
# The guest uses the host's apt sources (same mirror, same snapshot), in deb822 or one-line
# format.
VM_SOURCES=${SWRUN_VM_SOURCES:-/etc/apt/sources.list.d/debian.sources}
[ -f "$VM_SOURCES" ] || VM_SOURCES=/etc/apt/sources.list

# linux-image-amd64 is a metapackage: vm_kernel_pkg resolves it to the image package it
# depends on today (linux-image-6.1.0-NN-amd64), which is what gets downloaded.
VM_KERNEL_META=linux-image-amd64

# The system under test: systemd as PID 1 and what the runtime tests touch. iptables: criu
# probes it (without it `criu check` logs errors); qemu-guest-agent: the persistent VM
# (run.sh --keep); uidmap: newuidmap/newgidmap for rootless tests.
VM_PACKAGES=(
	systemd systemd-sysv udev dbus dbus-user-session libpam-systemd
	apparmor criu iptables iproute2 busybox-static kmod procps
	qemu-guest-agent uidmap
)
# The container engines, for end-to-end tests inside the VM. Their services are installed
# disabled (a test starts what it needs), so they cost image size and build time, not boot
# time. SWRUN_VM_ENGINES=0 leaves them out (a different cache key).
VM_ENGINE_PACKAGES=(containerd runc crun podman docker.io slirp4netns fuse-overlayfs)
VM_ENGINES=${SWRUN_VM_ENGINES:-1}

# Kernel modules copied into the image (paths under /lib/modules/KVER/kernel): 91 MB of the
# 391 MB Debian ships. A virtio guest needs these: file systems, networking (netfilter,
# bridge, veth for the engines), block (loop), virtio, and the crypto/lib helpers they use.
VM_MODULES=(
	arch/x86/crypto block crypto fs lib mm net virt
	drivers/virtio drivers/block drivers/char/virtio_console.ko drivers/char/hw_random
	drivers/md drivers/vhost
	drivers/net/veth.ko drivers/net/tun.ko drivers/net/tap.ko drivers/net/dummy.ko
	drivers/net/virtio_net.ko drivers/net/net_failover.ko drivers/net/macvlan.ko
	drivers/net/macvtap.ko drivers/net/ipvlan drivers/net/vxlan drivers/net/geneve.ko
	drivers/net/wireguard drivers/net/bonding drivers/net/vrf.ko drivers/net/ifb.ko
)
# Loaded by the initramfs before it mounts the root disk (Debian builds them as modules).
VM_INITRAMFS_MODULES=(virtio_pci virtio_blk ext4 crc32c_generic)

# Free space left in the root image (sparse: only what the guest writes costs disk, and that
# goes to the -snapshot overlay).
VM_IMAGE_FREE_MB=${SWRUN_VM_IMAGE_FREE_MB:-3072}

# The non-root user for rootless tests: lingering (user@1000.service runs from boot) and
# with subordinate id ranges.
VM_USER=tester
VM_UID=1000
VM_SUBID_START=100000
VM_SUBID_COUNT=65536

vm_log() { printf 'vm: %s\n' "$*" >&2; }
vm_die() { printf 'vm: error: %s\n' "$*" >&2; exit "${VM_DIE_CODE:-126}"; }

# vm_kernel_pkg: prints "PACKAGE VERSION" of the kernel image linux-image-amd64 points at,
# from the host's apt lists (no network). SWRUN_VM_KERNEL_DEB=path/to/linux-image-*.deb
# uses that file instead.
vm_kernel_pkg() {
	if [ -n "${SWRUN_VM_KERNEL_DEB:-}" ]; then
		dpkg-deb -f "$SWRUN_VM_KERNEL_DEB" Package Version | awk -F': ' '{ printf "%s ", $2 } END { print "" }'
		return
	fi
	# The candidate metapackage's Depends names the image package with its exact version:
	# "Depends: linux-image-6.1.0-57-amd64 (= 6.1.192-3)". One apt-cache call (0.6 s).
	# awk reads all of its input: an early exit would SIGPIPE apt-cache.
	local r
	r=$(apt-cache show --no-all-versions "$VM_KERNEL_META" 2>/dev/null |
		awk '/^Depends:/ && !n++ { if (match($0, /linux-image-[^ ,]+ \(= [^)]+\)/)) { s = substr($0, RSTART, RLENGTH); gsub(/[()=]/, "", s); gsub(/  +/, " ", s); print s } }')
	[ -n "$r" ] || return 1
	echo "$r"
}

vm_packages() {
	local p=("${VM_PACKAGES[@]}")
	[ "$VM_ENGINES" = 0 ] || p+=("${VM_ENGINE_PACKAGES[@]}")
	echo "${p[@]}"
}

# vm_key KERNEL_PKG_AND_VERSION: the cache key, a hash of everything an image is built from:
# the kernel package and version, the package list, the apt sources, and the build scripts and
# guest files themselves (so editing any of them rebuilds).
vm_key() {
	{
		echo "format $VM_FORMAT suite $VM_SUITE"
		echo "kernel $1"
		echo "packages $(vm_packages) free $VM_IMAGE_FREE_MB"
		cat "$VM_SOURCES"
		cd "$VM_DIR" && find lib.sh build.sh customize.sh initramfs-init guest -type f | LC_ALL=C sort | xargs sha256sum
	} | sha256sum | cut -c1-16
}

# vm_newest_image: the most recently built complete image directory, if any (for when the
# kernel cannot be resolved: no apt lists, e.g. a CI cache restored without them).
vm_newest_image() {
	local d
	for d in $(ls -td "$VM_CACHE"/images/*/ 2>/dev/null); do
		[ -f "$d/ready" ] && { echo "${d%/}"; return 0; }
	done
	return 1
}
