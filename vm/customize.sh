#!/bin/bash
# vm/customize.sh ROOT MODULES_DIR: mmdebstrap's --customize-hook for the guest image.
# Runs on the host, inside mmdebstrap's private mount namespace, after the packages are
# installed. ROOT is the new tree; MODULES_DIR the unpacked kernel's /lib/modules/KVER.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
R=$1 M=$2
KVER=${M##*/}
G=$VM_DIR/guest

# --- kernel modules: the subset in VM_MODULES, indexed by the image's own depmod -----------
mkdir -p "$R/lib/modules/$KVER/kernel"
cp "$M"/modules.order "$M"/modules.builtin "$M"/modules.builtin.modinfo "$R/lib/modules/$KVER/"
for p in "${VM_MODULES[@]}"; do
	[ -e "$M/kernel/$p" ] || { echo "customize: no $p in the kernel package" >&2; continue; }
	mkdir -p "$R/lib/modules/$KVER/kernel/$(dirname "$p")"
	cp -a "$M/kernel/$p" "$R/lib/modules/$KVER/kernel/$(dirname "$p")/"
done
# No KVM in the guest (no nested virtualisation under TCG); and TCG's `-cpu max` shows svm,
# so udev would try kvm_amd, which fails to load and logs errors.
rm -rf "$R/lib/modules/$KVER/kernel/arch/x86/kvm"
chroot "$R" depmod -a "$KVER"

# --- identity and file systems --------------------------------------------------------------
echo swrun-vm > "$R/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tswrun-vm\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$R/etc/hosts"
# Pass 0: no fsck; the image is only ever written by the build's warm-up boot.
printf '/dev/vda\t/\text4\trw,noatime\t0\t0\n' > "$R/etc/fstab"
# A fixed machine-id: with none, every boot would be a first boot (systemd-firstboot,
# presets), since -snapshot throws away what the boot writes.
od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > "$R/etc/machine-id"
echo >> "$R/etc/machine-id"
# The journal in memory: nothing on the throwaway disk, less I/O under TCG.
mkdir -p "$R/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\nRuntimeMaxUse=64M\n' > "$R/etc/systemd/journald.conf.d/swrun-vm.conf"

# What this image is, for the suites (tests/vm/testbed.sh checks the engines when ENGINES=1).
printf 'KVER=%s\nENGINES=%s\nUSER=%s\n' "$KVER" "$VM_ENGINES" "$VM_USER" > "$R/etc/swrun-vm.conf"

# --- users -------------------------------------------------------------------------------
chroot "$R" passwd -d root >/dev/null      # console login (run.sh --interactive) without a password
chroot "$R" useradd -m -u "$VM_UID" -U -s /bin/bash "$VM_USER"
# Subordinate ids for rootless engines and user-namespace tests (newuidmap reads these).
echo "$VM_USER:$VM_SUBID_START:$VM_SUBID_COUNT" > "$R/etc/subuid"
echo "$VM_USER:$VM_SUBID_START:$VM_SUBID_COUNT" > "$R/etc/subgid"
# `loginctl enable-linger` only creates this file (logind does not run in the chroot); at
# boot logind starts user@1000.service for it, so the user's manager runs without a login.
mkdir -p "$R/var/lib/systemd/linger"
touch "$R/var/lib/systemd/linger/$VM_USER"

# --- units: nothing runs that a test did not ask for ------------------------------------------
# Periodic jobs would fire in the middle of a long test (and apt has no network anyway).
# e2scrub_reap: a boot-time sweep of LVM snapshots there are none of.
for t in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer \
	fstrim.timer systemd-tmpfiles-clean.timer e2scrub_reap.service; do
	ln -sf /dev/null "$R/etc/systemd/system/$t"
done
# systemd loads these modules up front at every boot, in parallel; under TCG that costs seconds
# (a module load is 0.1 s alone, several seconds when a handful run at once), and none is
# needed to boot: the kernel loads fuse, loop and dm_mod when /dev/fuse, /dev/loop-control or
# /dev/mapper/control is first opened (kmod-static-nodes made those nodes), and configfs
# when sys-kernel-config.mount mounts it. drm and efi_pstore are of no use here at all.
for m in configfs dm_mod drm efi_pstore fuse loop; do
	ln -sf /dev/null "$R/etc/systemd/system/modprobe@$m.service"
done
# No display: multi-user.target is the whole boot (graphical.target would only wait longer).
# No VT either: the getty on tty1 talks to nobody (the serial one is for --interactive).
systemctl --root="$R" set-default multi-user.target >/dev/null 2>&1
systemctl --root="$R" disable getty@.service systemd-pstore.service >/dev/null 2>&1 || true
# The engines are installed, not started: a test starts the one it drives. Starting dockerd
# and containerd at every boot would cost seconds of TCG time for suites that do not use them
# (podman-auto-update.service alone, enabled by its package, adds 5 s to each boot).
for u in docker.service docker.socket containerd.service podman.socket podman.service \
	podman-restart.service podman-auto-update.service podman-auto-update.timer \
	podman-clean-transient.service; do
	[ -e "$R/lib/systemd/system/$u" ] && systemctl --root="$R" disable "$u" >/dev/null 2>&1 || true
done

# --- the job runner and the share mounter (vm/guest/) ------------------------------------
install -m 0755 "$G/swrun-vm-shares" "$G/swrun-vm-job" "$R/usr/local/sbin/"
install -m 0644 "$G/swrun-vm-shares.service" "$G/swrun-vm-job.service" "$R/etc/systemd/system/"
mkdir -p "$R/etc/systemd/system/serial-getty@ttyS0.service.d"
install -m 0644 "$G/serial-getty-autologin.conf" "$R/etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf"
systemctl --root="$R" enable swrun-vm-shares.service swrun-vm-job.service >/dev/null 2>&1
