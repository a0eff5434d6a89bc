#!/bin/sh
# The Debian package on a fresh Debian 12: `apt-get install ./swrun_*.deb` (made by
# `make deb`, which `make vm-test` runs first) installs the static binary, the man pages and
# the completions; they work; `apt-get remove` takes them away. Runs INSIDE the VM
# (vm/test.sh), as root. Usage: deb.sh SWRUN PROBE
# Prints PASS/FAIL lines and "N passed, M failed"; exits non-zero if anything failed.
set -u
pass=0 fail=0
ok()  { echo "PASS: $*"; pass=$((pass+1)); }
bad() { echo "FAIL: $*"; fail=$((fail+1)); }
finish() { echo "$pass passed, $fail failed"; [ $fail = 0 ]; exit $?; }
[ -n "${SWRUN_VM:-}" ] || { echo "FAIL: not in the VM (no SWRUN_VM)"; echo "0 passed, 1 failed"; exit 1; }
deb=$(ls /work/swrun_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { bad "no /work/swrun_*.deb: run make deb first"; finish; }
W=/tmp/swrun-deb
rm -rf $W; mkdir -p $W
cp "$deb" $W/

# The test image leaves man pages out (vm/build.sh: dpkg path-exclude); a Debian install
# keeps them, and so does this VM once the exclusion is gone (the VM's disk is a snapshot).
sed -i '/path-exclude=\/usr\/share\/man/d' /etc/dpkg/dpkg.cfg.d/* 2>/dev/null
[ -e /usr/bin/swrun ] && bad "swrun is already installed" || ok "a fresh system has no swrun"
# As a user would: from the directory holding the package, by a ./ path.
out=$(cd $W && DEBIAN_FRONTEND=noninteractive apt-get install -y ./"${deb##*/}" 2>&1)
[ $? = 0 ] && ok "apt-get install ./${deb##*/}" || { bad "apt-get install: $out"; finish; }
[ "$(dpkg-query -W -f '${Status}' swrun 2>/dev/null)" = "install ok installed" ] && ok "dpkg lists swrun as installed" || bad "dpkg-query: $(dpkg-query -W swrun 2>&1)"
v=$(swrun --version 2>&1 | head -1)
case $v in "swrun version "*) ok "swrun on PATH: $v" ;; *) bad "swrun --version: $v" ;; esac
cmp -s /usr/bin/swrun "$1" && ok "/usr/bin/swrun is the static binary that was built" || bad "/usr/bin/swrun differs from $1"

# A man page for swrun and for every command --help lists.
verbs=$(swrun --help | sed -n '/^COMMANDS:/,/^$/p' | awk 'NR > 1 && $1 != "help," && NF { print $1 }')
[ -n "$verbs" ] || bad "no commands in swrun --help"
[ -f /usr/share/man/man8/swrun.8.gz ] && ok "swrun(8) installed" || bad "no swrun.8.gz"
missing=""
for v in $verbs; do [ -f /usr/share/man/man8/swrun-$v.8.gz ] || missing="$missing $v"; done
[ -z "$missing" ] && ok "a man page for each command ($(echo $verbs | wc -w))" || bad "no man page for:$missing"
if command -v man >/dev/null; then
    man -P cat swrun-check 2>/dev/null | grep -q "every problem" && ok "man swrun-check" || bad "man swrun-check: $(man -P cat swrun-check 2>&1 | head -3)"
fi
zcat /usr/share/man/man8/swrun-check.8.gz | grep -q '^\.TH SWRUN-CHECK 8' && ok "swrun-check(8) is a section 8 page" || bad "swrun-check.8.gz has no .TH"

# Completions where bash-completion, zsh and fish look for them; bash's completes verbs.
for f in /usr/share/bash-completion/completions/swrun /usr/share/zsh/vendor-completions/_swrun /usr/share/fish/vendor_completions.d/swrun.fish; do
    [ -f $f ] && ok "installed $f" || bad "missing $f"
done
got=$(bash -c '. /usr/share/bash-completion/completions/swrun; COMP_WORDS=(swrun ch); COMP_CWORD=1; _swrun; echo "${COMPREPLY[*]}"' 2>&1)
[ "$got" = "check checkpoint" ] && ok "bash completes 'swrun ch' to check and checkpoint" || bad "bash completion of 'swrun ch': $got"
got=$(bash -c '. /usr/share/bash-completion/completions/swrun; COMP_WORDS=(swrun --root '$W'/state check --format ""); COMP_CWORD=5; _swrun; echo "${COMPREPLY[*]}"' 2>&1)
[ "$got" = "text json" ] && ok "bash completes check --format" || bad "bash completion of check --format: $got"

# The installed binary checks and runs a bundle.
B=$W/bundle
mkdir -p $B/rootfs/bin $B/rootfs/etc $B/rootfs/proc $B/rootfs/sys $B/rootfs/dev $B/rootfs/tmp
cp /bin/busybox $B/rootfs/bin/busybox
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox $B/rootfs/bin/$a; done
(cd $B && swrun spec)
sed -i 's/"terminal": true/"terminal": false/; s/^\(\t*\)"sh"$/\1"echo", "deb-ok"/' $B/config.json
out=$(swrun check -b $B 2>&1) && ok "swrun check passes the bundle" || bad "swrun check: $out"
out=$(swrun --root $W/state run -b $B deb1 2>&1)
[ "$out" = "deb-ok" ] && ok "the installed swrun runs a container" || bad "run: $out"
sed -i 's/"echo", "deb-ok"/"no-such-program"/' $B/config.json
out=$(swrun check -b $B 2>&1); rc=$?
[ $rc = 1 ] && echo "$out" | grep -q 'process.args\[0\]' && ok "swrun check finds a missing program" || bad "check of a missing program: rc $rc: $out"

out=$(DEBIAN_FRONTEND=noninteractive apt-get remove -y swrun 2>&1)
[ $? = 0 ] && [ ! -e /usr/bin/swrun ] && [ ! -e /usr/share/man/man8/swrun.8.gz ] && ok "apt-get remove takes it all away" || bad "apt-get remove: $out"
finish
