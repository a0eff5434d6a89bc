#!/bin/bash
# vm/run.sh: run one command as root in a fresh VM (Debian 12, systemd as PID 1, pure cgroup
# v2, AppArmor), stream its output, power off, exit with its status.
#
#   vm/run.sh [options] -- COMMAND [ARGS...]
#   vm/run.sh --interactive [options]        root shell on the serial console (Ctrl-A X quits)
#
# Options:
#   --share HOST:GUEST[:ro]  share a host directory over virtio-9p (repeatable); :ro shares
#                       are read-only and cached in the guest, the others read-write
#   --workdir DIR       the command's directory in the guest (default /)
#   --env NAME[=VALUE]  set NAME for the command (VALUE defaults to ours; repeatable)
#   --timeout S         power the VM off after S seconds, boot included (default 900)
#   --mem M             guest memory, QEMU syntax (default 2G)
#   --cpus N            virtual CPUs (default 2)
#   --console FILE      keep the serial console (kernel and systemd messages) in FILE
#   --append ARGS       more kernel command-line arguments
#   --no-build          fail (126) instead of building the image when it is missing or stale
#   -v, --verbose       the console on stderr as it comes, and without `quiet`
#   -q, --quiet         no "vm: ..." lines on stderr, except errors
# Internal (vm/build.sh): --image-dir DIR boots that image; --writable keeps what the boot
# writes (no -snapshot).
#
# The command runs once the guest reports `systemctl is-system-running --wait` done: as root,
# stdin /dev/null, in swrun-vm-job.service's cgroup, delegated (Delegate=yes): it may create
# cgroups below $SWRUN_VM_CGROUP (the service's cgroup as an absolute cgroupsPath; the
# command itself sits in the leaf $SWRUN_VM_CGROUP/job). SWRUN_VM=1 is set too. stdout and
# stderr come back as they are written. A "degraded" boot is reported with the failed units
# on stderr, and the command still runs.
#
# Exit status: the command's; 124 on --timeout; 125 when the VM stopped without reporting a
# status (the console's tail goes to stderr); 126 when the VM could not be started (missing
# qemu, image not built and not buildable).
#
# Environment: SWRUN_VM_CACHE (default /var/cache/swrun-vm), SWRUN_VM_ENGINES=0 (an image
# without the container engines), SWRUN_VM_ACCEL=kvm (untested: this host's KVM cannot run
# Debian's kernel, so TCG is the default), SWRUN_VM_TB_SIZE (TCG code cache, MiB, default 256).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SHARES=() ENVS=() WORKDIR=/ TIMEOUT=900 MEM=2G CPUS=2 CONSOLE_OUT="" APPEND="" NOBUILD=0
VERBOSE=0 QUIET=0 INTERACTIVE=0 IMAGE_DIR="" WRITABLE=0
need() { [ $# -ge 2 ] || vm_die "$1 needs a value"; }
while [ $# -gt 0 ]; do
	case $1 in
	--share) need "$@"; SHARES+=("$2"); shift 2 ;;
	--workdir) need "$@"; WORKDIR=$2; shift 2 ;;
	--env) need "$@"; ENVS+=("$2"); shift 2 ;;
	--timeout) need "$@"; TIMEOUT=$2; shift 2 ;;
	--mem) need "$@"; MEM=$2; shift 2 ;;
	--cpus) need "$@"; CPUS=$2; shift 2 ;;
	--console) need "$@"; CONSOLE_OUT=$2; shift 2 ;;
	--append) need "$@"; APPEND="$APPEND $2"; shift 2 ;;
	--no-build) NOBUILD=1; shift ;;
	--image-dir) need "$@"; IMAGE_DIR=$2; shift 2 ;;
	--writable) WRITABLE=1; shift ;;
	-v|--verbose) VERBOSE=1; shift ;;
	-q|--quiet) QUIET=1; shift ;;
	-i|--interactive) INTERACTIVE=1; shift ;;
	-h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	--) shift; break ;;
	-*) vm_die "unknown option $1 (see --help)" ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || [ $INTERACTIVE = 1 ] || vm_die "no command (see --help)"
case $TIMEOUT in ''|*[!0-9]*) vm_die "--timeout wants whole seconds" ;; esac
say() { [ $QUIET = 1 ] || vm_log "$@"; }

QEMU=$(command -v qemu-system-x86_64) || vm_die "qemu-system-x86_64 not found: apt-get install qemu-system-x86"

# --- the image: the cached one for the current key, built first if missing or stale --------
mkdir -p "$VM_CACHE" 2>/dev/null || true
if [ -z "$IMAGE_DIR" ]; then
	if kp=$(vm_kernel_pkg); then
		IMAGE_DIR=$VM_CACHE/images/$(vm_key "$kp")
		if [ ! -f "$IMAGE_DIR/ready" ]; then
			[ $NOBUILD = 0 ] || vm_die "no image for the current key in $VM_CACHE (run make vm-image)"
			say "the image is missing or stale: building it (vm/build.sh)"
			IMAGE_DIR=$("$VM_DIR/build.sh" | tail -n1) || vm_die "vm/build.sh failed"
		fi
	else
		# No apt lists to resolve the kernel with (a CI cache restored without them): use the
		# newest image there is, and say so.
		IMAGE_DIR=$(vm_newest_image) ||
			vm_die "cannot resolve $VM_KERNEL_META (run apt-get update) and no image is cached in $VM_CACHE"
		say "cannot resolve $VM_KERNEL_META: using the newest cached image, $IMAGE_DIR"
	fi
	# Held shared while the VM runs: vm/build.sh prunes old images only when nobody holds it.
	# (Read-only when the cache is not ours to write: a shared lock needs no write access.)
	if { exec 8>> "$VM_CACHE/.use.lock"; } 2>/dev/null || { exec 8< "$VM_CACHE/.use.lock"; } 2>/dev/null; then
		flock -s 8 || true
	fi
fi
for f in vmlinux initramfs.cpio rootfs.img; do
	[ -f "$IMAGE_DIR/$f" ] || vm_die "$IMAGE_DIR/$f missing (run make vm-image)"
done

RUN=$(mktemp -d "${TMPDIR:-/tmp}/swrun-vm.XXXXXX")
QPID="" TAILS=()
cleanup() {
	[ -z "$QPID" ] || kill "$QPID" 2>/dev/null || true
	for p in "${TAILS[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$RUN/job"

# --- the kernel command line ------------------------------------------------------------
# Pure cgroup v2 (systemd mounts only cgroup2; no v1 controller can be mounted), AppArmor as
# the LSM. panic=-1 with -no-reboot: a kernel panic ends QEMU at once. mitigations=off: no
# speculation workarounds (page-table isolation costs a lot under TCG; this is a test VM).
# cryptomgr.notests and random.trust_cpu=on: no crypto self-tests and no wait for entropy.
KCMD="console=ttyS0 panic=-1 systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all"
KCMD="$KCMD apparmor=1 security=apparmor mitigations=off cryptomgr.notests random.trust_cpu=on"
# quiet: the emulated serial port is slow, and a job's output does not go through it.
[ $VERBOSE = 1 ] || KCMD="$KCMD quiet"

# --- 9p shares: the job directory, then each --share ----------------------------------------
QARGS=()
addshare() { # TAG HOSTDIR READONLY
	local ro=""
	[ "$3" = 1 ] && ro=,readonly=on
	# multidevs=remap: the host directory may span file systems (inode numbers stay unique).
	QARGS+=(-fsdev "local,id=$1,path=${2//,/,,},security_model=none,multidevs=remap$ro"
		-device "virtio-9p-pci,fsdev=$1,mount_tag=$1")
}
n=0
for s in "${SHARES[@]}"; do
	ro=0
	case $s in *:ro) ro=1; s=${s%:ro} ;; *:rw) s=${s%:rw} ;; esac
	h=${s%%:*} g=${s#*:}
	[ "$g" != "$s" ] && [ -n "$h" ] && [ -n "$g" ] || vm_die "--share wants HOST:GUEST[:ro], not $s"
	case $g in /*) ;; *) vm_die "--share: the guest path must be absolute: $g" ;; esac
	[ -d "$h" ] || vm_die "--share: no directory $h"
	h=$(cd "$h" && pwd -P)
	n=$((n + 1))
	addshare "share$n" "$h" $ro
	if [ $ro = 1 ]; then g=$g:ro; fi
	KCMD="$KCMD swrun_vm.share=share$n:$g"
done

ACCEL="tcg,thread=multi,tb-size=${SWRUN_VM_TB_SIZE:-256}" CPU=max
if [ "${SWRUN_VM_ACCEL:-tcg}" = kvm ]; then ACCEL=kvm CPU=host; fi
# -nodefaults: no emulated VGA, NIC, floppy, CD-ROM; only the devices named here. The PVH
# entry of vmlinux lets QEMU load the kernel directly. The disk: raw, cache=unsafe (the
# host's page cache, no flushes: the writes of a -snapshot run are thrown away anyway).
QARGS=(-nodefaults -no-user-config -display none -no-reboot -M pc
	-accel "$ACCEL" -cpu "$CPU" -m "$MEM" -smp "$CPUS"
	-kernel "$IMAGE_DIR/vmlinux" -initrd "$IMAGE_DIR/initramfs.cpio"
	-drive "file=$IMAGE_DIR/rootfs.img,format=raw,if=none,id=root,cache=unsafe"
	-device virtio-blk-pci,drive=root -device virtio-rng-pci
	"${QARGS[@]}")
# -snapshot: the guest's writes go to a temporary overlay; the image stays as built.
[ $WRITABLE = 1 ] || QARGS+=(-snapshot)
# QEMU puts the -snapshot overlay in $TMPDIR (it unlinks it at once).
export TMPDIR=$RUN

if [ $INTERACTIVE = 1 ]; then
	[ -t 0 ] || vm_die "--interactive needs a terminal"
	say "interactive: root shell on the console; poweroff ends it, Ctrl-A X kills it"
	rc=0
	"$QEMU" "${QARGS[@]}" -serial mon:stdio -append "$KCMD$APPEND" || rc=$?
	exit $rc
fi

# --- the job: the command as a script, with its environment --------------------------------
sq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
{
	echo '#!/bin/sh'
	for e in "${ENVS[@]}"; do
		name=${e%%=*}
		case $name in ''|[0-9]*|*[!A-Za-z0-9_]*) vm_die "--env: bad name $name" ;; esac
		if [ "$name" = "$e" ]; then val=${!name-}; else val=${e#*=}; fi
		echo "export $name=$(sq "$val")"
	done
	printf 'exec'
	for a in "$@"; do printf ' %s' "$(sq "$a")"; done
	echo
} > "$RUN/job/cmd"
chmod 755 "$RUN/job/cmd"
: > "$RUN/job/stdout"
: > "$RUN/job/stderr"
QARGS+=(-fsdev "local,id=job,path=$RUN/job,security_model=none" -device virtio-9p-pci,fsdev=job,mount_tag=job)
KCMD="$KCMD swrun_vm.job=job swrun_vm.workdir=$WORKDIR"
QARGS+=(-serial "file:$RUN/console.log")
: > "$RUN/console.log"

t0=$(date +%s.%N)
timeout -k 5 "$TIMEOUT" "$QEMU" "${QARGS[@]}" -append "$KCMD$APPEND" < /dev/null > "$RUN/qemu.log" 2>&1 &
QPID=$!
# The command's output, as the guest writes it through the uncached job share. tail exits
# once QEMU has gone (--pid), after a last read.
tail -q -n +1 -s 0.2 --pid="$QPID" -F "$RUN/job/stdout" 2>/dev/null &
TAILS+=($!)
tail -q -n +1 -s 0.2 --pid="$QPID" -F "$RUN/job/stderr" >&2 2>/dev/null &
TAILS+=($!)
[ $VERBOSE = 0 ] || { tail -q -n +1 -s 0.2 --pid="$QPID" -F "$RUN/console.log" >&2 2>/dev/null & TAILS+=($!); }
# Say when the guest is up, and how it came up.
(
	while [ ! -f "$RUN/job/boot" ]; do kill -0 "$QPID" 2>/dev/null || exit 0; sleep 0.2; done
	b() { sed -n "s/^$1=//p" "$RUN/job/boot"; }
	state=$(b state) uptime=$(b uptime) failed=$(b failed) startup=$(b startup)
	wall=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	if [ "$state" = running ]; then
		say "booted in ${wall} s (guest uptime ${uptime} s; $startup)"
	else
		vm_log "booted in ${wall} s, but the system is $state; failed units: ${failed:-none listed}"
	fi
) &
WATCH=$!
TAILS+=($WATCH)

rc=0
wait "$QPID" || rc=$?
QPID=""
for p in "${TAILS[@]}"; do wait "$p" 2>/dev/null || true; done
TAILS=()
[ -z "$CONSOLE_OUT" ] || cp "$RUN/console.log" "$CONSOLE_OUT"
wall=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
if [ $rc = 124 ] || [ $rc = 137 ]; then
	vm_log "timed out after ${TIMEOUT} s; the console's tail:"
	tail -n 30 "$RUN/console.log" >&2
	exit 124
fi
if [ ! -f "$RUN/job/rc" ]; then
	vm_log "the VM stopped after ${wall} s (qemu status $rc) without reporting the command's status"
	cat "$RUN/qemu.log" >&2
	tail -n 40 "$RUN/console.log" >&2
	exit 125
fi
st=$(cat "$RUN/job/rc")
say "exit status $st, ${wall} s in all"
exit "$st"
