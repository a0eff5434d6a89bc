#!/bin/bash
# make-deb.sh SWRUN DOCS VERSION OUTDIR: OUTDIR/swrun_VERSION_ARCH.deb, built with dpkg-deb
# from the static swrun binary and the man pages and completions swrun-docs made in DOCS
# (make deb). The package depends on nothing: the binary is static. Contents:
#   /usr/bin/swrun
#   /usr/share/man/man8/swrun.8.gz, swrun-VERB.8.gz
#   /usr/share/bash-completion/completions/swrun
#   /usr/share/zsh/vendor-completions/_swrun
#   /usr/share/fish/vendor_completions.d/swrun.fish
#   /usr/share/doc/swrun/copyright, changelog.gz
set -euo pipefail
swrun=$1 docs=$2 version=$3 out=$4
here=$(cd "$(dirname "$0")/.." && pwd)
arch=$(dpkg --print-architecture)
command -v dpkg-deb >/dev/null || { echo "make-deb: dpkg-deb not found (apt-get install dpkg)" >&2; exit 1; }
# Static, or the package would need the libraries it links.
if readelf -lW "$swrun" | grep -q 'Requesting program interpreter'; then
    echo "make-deb: $swrun is not a static executable (build it with make build)" >&2; exit 1
fi
root=$(mktemp -d)
chmod 0755 "$root"
trap 'rm -rf "$root"' EXIT
install -D -m 0755 "$swrun" "$root/usr/bin/swrun"
install -d "$root/usr/share/man/man8"
for page in "$docs"/man/*.8; do
    gzip -9n < "$page" > "$root/usr/share/man/man8/${page##*/}.gz"
done
install -D -m 0644 "$docs/completions/swrun.bash" "$root/usr/share/bash-completion/completions/swrun"
install -D -m 0644 "$docs/completions/_swrun" "$root/usr/share/zsh/vendor-completions/_swrun"
install -D -m 0644 "$docs/completions/swrun.fish" "$root/usr/share/fish/vendor_completions.d/swrun.fish"
install -D -m 0644 "$here/debian/copyright" "$root/usr/share/doc/swrun/copyright"
printf 'swrun (%s) unstable; urgency=medium\n\n  * Built from the swrun repository (make deb).\n\n -- swrun maintainers <maintainers@swrun.invalid>  %s\n' \
    "$version" "$(date -R -d @"${SOURCE_DATE_EPOCH:-$(git -C "$here" log -1 --format=%ct 2>/dev/null || date +%s)}")" \
    | gzip -9n > "$root/usr/share/doc/swrun/changelog.gz"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
mkdir -p "$root/DEBIAN"
cat > "$root/DEBIAN/control" <<CONTROL
Package: swrun
Version: $version
Architecture: $arch
Maintainer: swrun maintainers <maintainers@swrun.invalid>
Installed-Size: $size
Section: admin
Priority: optional
Description: OCI container runtime, a drop-in replacement for runc
 swrun creates and runs containers from OCI bundles (a config.json and a root
 file system) as the OCI runtime specification describes, with runc's command
 line, exit codes, state JSON and log format, so that containerd, Docker and
 Podman can use it in runc's place. It is one static executable.
 .
 swrun check reports every problem that create would hit with a bundle, each
 with its field and a fix.
CONTROL
(cd "$root" && find usr -type f -exec md5sum {} + | sort -k2) > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"
deb="$out/swrun_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
