#!/bin/bash
# runtime-tools.sh: run opencontainers/runtime-tools' validation suite against one OCI runtime
# and count its TAP the way a TAP harness does.
#
#   scripts/runtime-tools.sh [-n NAME] [-s SCRATCH] [-t SECS] [-m host|crun] RTT_DIR RUNTIME [PROGRAM...]
#
# RTT_DIR  a runtime-tools checkout with `runtimetest` and every validation/*/*.t built in it
#          (see docs/conformance.md, "Reproducing"); nothing of it is part of this project.
# RUNTIME  the runtime binary (swrun, runc, crun: anything with runc's command line).
# PROGRAM  validation program names (default: every validation/*/*.t, sorted).
# -n NAME  label for the run (default: basename of RUNTIME).
# -s DIR   scratch directory (default: /tmp/rtt/run-NAME); emptied first.
# -t SECS  per-program timeout (default: 300).
# -c       count only: re-read the TAP an earlier run left in SCRATCH/out, run nothing.
# -m MODE  host: run the programs in the caller's mount namespace (swrun, runc);
#          crun: run each program in a private mount namespace where /sys/fs/cgroup/unified is
#          unmounted (crun 1.8.1 refuses a hybrid host otherwise) and /dev/null is a private
#          character device 1:3: before it enters a user namespace whose root is not host
#          root, crun 1.8.1 fchowns its own non-tty stdio to that uid (maybe_chown_std_streams),
#          and under the suite its stdin is /dev/null; linux_uid_mappings (root -> 1000) would
#          otherwise leave the host's /dev/null owned by 1000:1000.
#          Default: crun when `RUNTIME --version` says crun, else host.
#
# Counting (TAP's rules, per program):
#   PASS  exit status 0, a plan (`1..N`; two TAP streams add their plans) that matches the
#         number of test points, no `not ok` and no error block: a YAML diagnostic with an
#         `error` key that follows no test point (hooks, prestart, poststart, poststop and their
#         _fail variants and state report a failure that way, hooks and the others with a
#         `1..0` plan and no `not ok` line at all). A program that exits 0
#         and prints nothing on stdout passes only if its name ends in _fail
#         (process_rlimits_fail and process_capabilities_fail say "the runtime refused the
#         config" that way). Some assertions skipped: still a pass, as in any TAP harness; the
#         number skipped is shown.
#   SKIP  every test point skipped (or `1..0 # SKIP`): not a pass.
#   FAIL  anything else: a non-zero exit, a signal, the timeout, no plan, a plan that does not
#         match, a `not ok`, an error block.
#   Per assertion: ok / not ok / skip over every test point (`ok N # SKIP` counts as skip only).
#   The totals also give the stricter count where a program with any skipped assertion is
#   not a pass.
# stderr is not TAP: it is kept (SCRATCH/out/PROG.stderr) and its first line is shown as the
# reason when nothing on stdout explains a failure; a program that passes while writing to
# stderr is marked `stderr` in the notes column so that nothing is hidden.
#
# Isolation: the runtime is called through a wrapper (SCRATCH/bin/NAME) that adds
# `--root SCRATCH/state`, so each runtime has its own state root; TMPDIR (where the suite makes
# its bundles) is SCRATCH/tmp/PROG, fresh per program. After each program, in the same mount
# namespace, every container left in the state root is killed and force-deleted, processes
# whose root is under SCRATCH are killed by pid, mounts the runtime leaked under SCRATCH are
# unmounted, the suite's own cgroups (named cgrouptest/testdir) are removed if empty, and the
# scratch TMPDIR is removed without crossing filesystems. The programs run one at a time.
# Besides the runtime's own state and cgroups, nothing outside SCRATCH is written; the host's
# mounts and /dev are never changed.
#
# Some programs race (killsig signals a shell before its trap is set; poststart compares the
# order of two concurrent writes; crun's kill of an exited container sometimes fails): a
# single run can differ from the next by a program or two. Repeat the run to see which:
#   for i in 1 2 3; do scripts/runtime-tools.sh -s /tmp/rtt/run$i-swrun RTT_DIR SWRUN; done
set -uo pipefail

self=$(readlink -f "$0")

# ---- the inner step: one program, in the namespace chosen by the outer loop ---------------
# Called as: runtime-tools.sh __one MODE SCRATCH WRAPPER TIMEOUT PROG_PATH OUTBASE
if [ "${1:-}" = __one ]; then
    mode=$2 scratch=$3 wrapper=$4 timeout_s=$5 prog=$6 outbase=$7
    if [ "$mode" = crun ]; then
        # We are in a fresh private mount namespace (unshare -m --propagation private):
        # nothing below is seen by the host.
        if mountpoint -q /sys/fs/cgroup/unified; then
            umount /sys/fs/cgroup/unified || { echo "cannot unmount /sys/fs/cgroup/unified" >"$outbase.stderr"; echo 125 >"$outbase.rc"; exit 0; }
        fi
        # A private /dev/null: a character device 1:3 on a tmpfs mounted here (not nodev),
        # bound over /dev/null in this namespace only.
        mkdir -p "$scratch/devns"
        mount -t tmpfs -o mode=0755,size=64k rtt-devns "$scratch/devns"
        mknod -m 0666 "$scratch/devns/null" c 1 3
        mount --bind "$scratch/devns/null" /dev/null
    fi
    tmp=$scratch/tmp/$(basename "$prog" .t)
    rm -rf --one-file-system "$tmp"; mkdir -p "$tmp"
    start=$(date +%s.%N)
    # Run from the checkout's root: the programs read ./rootfs-amd64.tar.gz and ./runtimetest.
    RUNTIME=$wrapper TMPDIR=$tmp timeout -k 10 "$timeout_s" "$prog" \
        >"$outbase.stdout" 2>"$outbase.stderr" </dev/null
    echo $? >"$outbase.rc"
    echo "$start $(date +%s.%N)" | awk '{printf "%.1f\n", $2-$1}' >"$outbase.secs"

    # Clean up what the program (or the runtime) left, in this same namespace.
    ids=$("$wrapper" list -q 2>/dev/null || true)
    [ -n "$ids" ] || ids=$(ls "$scratch/state" 2>/dev/null || true)
    for id in $ids; do
        echo "left container $id" >>"$outbase.cleanup"
        "$wrapper" kill "$id" KILL >/dev/null 2>&1
        "$wrapper" delete --force "$id" >>"$outbase.cleanup" 2>&1
    done
    for p in /proc/[0-9]*; do        # container processes whose state was lost
        r=$(readlink "$p/root" 2>/dev/null) || continue
        case $r in "$scratch"/*) echo "killed ${p#/proc/} (root $r)" >>"$outbase.cleanup"; kill -9 "${p#/proc/}" 2>/dev/null ;; esac
    done
    # Mounts leaked under the scratch dir (a config without a mount namespace mounts in the
    # runtime's own table), deepest first; then the bundles.
    findmnt -rn -o TARGET | grep -F "$tmp/" | sort -r | while read -r m; do
        echo "unmounted $m" >>"$outbase.cleanup"; umount -l "$m"
    done
    rm -rf --one-file-system "$tmp"
    exit 0
fi

# ---- the outer loop ------------------------------------------------------------------------
name='' scratch='' timeout_s=300 mode='' count_only=''
while getopts n:s:t:m:c o; do
    case $o in
        n) name=$OPTARG ;; s) scratch=$OPTARG ;; t) timeout_s=$OPTARG ;; m) mode=$OPTARG ;;
        c) count_only=1 ;;
        *) sed -n '2,56p' "$self"; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || { sed -n '2,12p' "$self"; exit 2; }
rtt=$(readlink -f "$1") runtime=$(readlink -f "$2"); shift 2
[ "$(id -u)" = 0 ] || { echo "runtime-tools.sh: must run as root" >&2; exit 2; }
[ -x "$rtt/runtimetest" ] || { echo "runtime-tools.sh: $rtt/runtimetest is not built" >&2; exit 2; }
[ -x "$runtime" ] || { echo "runtime-tools.sh: $runtime is not executable" >&2; exit 2; }
name=${name:-$(basename "$runtime")}
scratch=${scratch:-/tmp/rtt/run-$name}
case $scratch in /|/tmp|/work*|"") echo "runtime-tools.sh: refusing scratch dir $scratch" >&2; exit 2 ;; esac
version=$("$runtime" --version 2>&1 | head -1)
if [ -z "$mode" ]; then
    case $version in crun*) mode=crun ;; *) mode=host ;; esac
fi
case $mode in host|crun) ;; *) echo "runtime-tools.sh: -m host or -m crun" >&2; exit 2 ;; esac

if [ $# -gt 0 ]; then
    progs=(); for p in "$@"; do progs+=("validation/$p/$p.t"); done
else
    mapfile -t progs < <(cd "$rtt" && printf '%s\n' validation/*/*.t | sort)
fi

if [ -n "$count_only" ]; then
    [ -d "$scratch/out" ] || { echo "runtime-tools.sh: -c: no $scratch/out to count" >&2; exit 2; }
else
    rm -rf --one-file-system "$scratch"
fi
mkdir -p "$scratch/bin" "$scratch/state" "$scratch/tmp" "$scratch/out"
wrapper=$scratch/bin/$name
printf '#!/bin/sh\nexec %q --root %q "$@"\n' "$runtime" "$scratch/state" >"$wrapper"
chmod 0755 "$wrapper"

# Count one program's TAP (stdout) and decide; prints
#   verdict ok notok skip todo planned tests orphan_yaml reason
tapcount() {  # $1 stdout file, $2 rc, $3 program name
    awk -v rc="$2" -v prog="$3" '
    function directive(line) {            # "# SKIP" / "# TODO" after the description
        if (match(line, /#[ \t]*[Ss][Kk][Ii][Pp]/)) return "skip"
        if (match(line, /#[ \t]*[Tt][Oo][Dd][Oo]/)) return "todo"
        return ""
    }
    function errtext(line) {              # the value of an error: / "error": line
        sub(/^[ \t]*"?error"?:[ \t]*"?/, "", line); sub(/",?[ \t]*$/, "", line)
        sub(/\\n.*/, "", line); return line
    }
    function add(r) { reason = (reason == "" ? r : reason "; " r) }
    BEGIN { ok = notok = skip = todo = tests = orphan = plans = streams = 0; plan = -1; inyaml = 0; prev = ""
            reason = ""; anyout = 0; bail = 0 }
    { anyout = 1 }
    inyaml {
        if ($0 ~ /^[ \t]+\.\.\.[ \t]*$/) {
            inyaml = 0; prev = "yaml"
            if (orphanblock && blockerr != "") { orphan++; if (errline == "") errline = blockerr }
            next
        }
        if ($0 ~ /^[ \t]*"?error"?:/ && blockerr == "") blockerr = errtext($0)
        if (!orphanblock && lastnotok && notokerr == "" && blockerr != "") notokerr = blockerr
        next
    }
    # A YAML block belongs to the test point before it (lines between them that are not TAP,
    # such as the "Refer to: ..." second line of a description, do not count). A block that
    # follows no test point (after the version line, the plan or another block) and holds an
    # `error` key is an error block: the way the suite fails a program without a `not ok`.
    # One without an `error` key is a plain diagnostic (RuntimeInsideValidate prints
    # the container output that way, just before its test point).
    /^[ \t]+---[ \t]*$/ { inyaml = 1; orphanblock = (prev != "test"); blockerr = ""; next }
    /^(not )?ok([ \t]|$)/ {
        tests++; d = directive($0); lastnotok = 0
        if ($0 ~ /^not ok/) {
            if (d == "todo") todo++
            else { notok++; lastnotok = 1
                   if (firstnotok == "") { firstnotok = $0; sub(/^not ok[ \t]*[0-9]*[ \t]*-?[ \t]*/, "", firstnotok) } }
        } else if (d == "skip") { skip++; if (firstskip == "") { firstskip = $0; sub(/^ok[ \t]*[0-9]*[ \t]*#[ \t]*[Ss][Kk][Ii][Pp][ \t]*/, "", firstskip) } }
        else if (d == "todo") todo++
        else ok++
        prev = "test"; next
    }
    # Some programs print two TAP streams one after the other (linux_cgroups_cpus: a
    # "TAP version 13" and a plan for each of its two parts): the plans add up.
    /^1\.\.[0-9]+/ { p = $0; sub(/^1\.\./, "", p); sub(/[^0-9].*/, "", p); plan = (plan < 0 ? 0 : plan) + p; plans++
                     if ($0 ~ /#[ \t]*[Ss][Kk][Ii][Pp]/) planskip = 1
                     prev = "plan"; next }
    /^Bail out!/ { bail = 1; prev = "bail"; next }
    /^TAP version/ { prev = "version"; streams++; next }
    END {
        v = "PASS"
        if (rc == 124 || rc == 137) add("timed out")
        else if (rc > 128) add("killed by signal " (rc - 128))
        else if (rc != 0) add("exit " rc)
        if (bail) add("Bail out!")
        if (notok) add("not ok: " firstnotok (notokerr != "" ? " (" notokerr ")" : ""))
        if (orphan) add("error block: " (errline == "" ? "(YAML diagnostic without a test point)" : errline))
        if (!anyout) { if (!(rc == 0 && prog ~ /_fail$/) && reason == "") add("no output, no plan") }
        else if (plan < 0) add("no plan")
        else if (plan != tests) add("planned " plan ", ran " tests)
        else if (plans != streams && streams > 0) add(plans " plans in " streams " TAP streams")
        if (reason != "") v = "FAIL"
        else if (planskip || (tests > 0 && skip == tests)) { v = "SKIP"; reason = "all skipped: " firstskip }
        else if (skip) reason = "(" skip " skipped: " firstskip ")"
        gsub(/\t/, " ", reason)
        printf "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", v, ok, notok, skip, todo, plan, tests, orphan, reason
    }' "$1"
}

commit=$(git -C "$rtt" rev-parse HEAD 2>/dev/null || echo unknown)
describe=$(git -C "$rtt" describe --long --always --tags 2>/dev/null || echo unknown)
echo "runtime-tools: $commit ($describe) at $rtt"
echo "runtime:       $runtime ($version)"
echo "               sha256 $(sha256sum "$runtime" | cut -c1-16)…, label $name, mode $mode, state root $scratch/state"
echo "host:          $(uname -r), cgroups $(stat -fc %T /sys/fs/cgroup) $(mountpoint -q /sys/fs/cgroup/unified && echo '+ unified (hybrid)'), $(date -u +%FT%TZ)"
echo
printf '%-40s %-4s %5s %6s %4s %5s %6s  %s\n' program res ok notok skip rc secs reason
summary=$scratch/summary.tsv
: >"$summary"
passed=0 strict=0 skipped=0 failed=0 total=0 tok=0 tnotok=0 tskip=0 ttodo=0
for prog in "${progs[@]}"; do
    base=$(basename "$prog" .t)
    out=$scratch/out/$base
    if [ -n "$count_only" ]; then
        :   # count what an earlier run left in SCRATCH/out
    elif [ ! -x "$rtt/$prog" ]; then
        echo "missing" >"$out.stderr"; : >"$out.stdout"; echo 127 >"$out.rc"; echo 0 >"$out.secs"
    elif [ "$mode" = crun ]; then
        (cd "$rtt" && unshare -m --propagation private "$self" __one crun "$scratch" "$wrapper" "$timeout_s" "./$prog" "$out")
    else
        (cd "$rtt" && "$self" __one host "$scratch" "$wrapper" "$timeout_s" "./$prog" "$out")
    fi
    rc=$(cat "$out.rc") secs=$(cat "$out.secs")
    IFS=$'\t' read -r v ok notok skip todo _plan _tests _orphan reason < <(tapcount "$out.stdout" "$rc" "$base")
    if [ "$v" = FAIL ] && { [ -z "$reason" ] || [[ $reason == exit* ]] || [[ $reason == "no output"* ]]; } && [ -s "$out.stderr" ]; then
        reason="$reason: $(grep -v '^[[:space:]]*$' "$out.stderr" | head -3 | tr '\n' ' ' | cut -c1-200)"
    fi
    if [ "$v" = PASS ] && [ -s "$out.stderr" ]; then reason="$reason (stderr: $(head -1 "$out.stderr" | cut -c1-80))"; fi
    [ -s "$out.cleanup" ] && reason="$reason [cleanup: $(wc -l <"$out.cleanup") item(s), see $out.cleanup]"
    printf '%-40s %-4s %5d %6d %4d %5s %6s  %s\n' "$base" "$v" "$ok" "$notok" "$skip" "$rc" "$secs" "$reason"
    printf '%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n' "$base" "$v" "$ok" "$notok" "$skip" "$todo" "$rc" "$secs" "$reason" >>"$summary"
    total=$((total + 1))
    case $v in
        PASS) passed=$((passed + 1)); [ "$skip" -eq 0 ] && strict=$((strict + 1)) ;;
        SKIP) skipped=$((skipped + 1)) ;;
        *) failed=$((failed + 1)) ;;
    esac
    tok=$((tok + ok)) tnotok=$((tnotok + notok)) tskip=$((tskip + skip)) ttodo=$((ttodo + todo))
done

# The suite's own cgroups, if a runtime left them (empty ones only; never a mount).
find /sys/fs/cgroup -mindepth 2 -depth -type d \( -name cgrouptest -o -name testdir -o -path '*/testdir/*' \) \
    -exec rmdir {} \; 2>/dev/null
left=$(find /sys/fs/cgroup -mindepth 2 -type d \( -name cgrouptest -o -name testdir \) 2>/dev/null | head -5)

echo
echo "suite $commit; runtime $name ($version)"
echo "programs passed: $passed of $total (failed $failed, all skipped $skipped); with no skipped assertion: $strict"
echo "assertions: ok $tok / not ok $tnotok / skip $tskip$([ "$ttodo" -gt 0 ] && echo " / todo $ttodo")"
[ -z "$left" ] || echo "cgroups left (busy): $left"
echo "raw TAP: $scratch/out/PROG.{stdout,stderr,rc}; table: $summary"
