#!/usr/bin/env bash
# `npm run package:deb`: a Debian package of sipha from this tree, with dpkg-deb, into dist-pkg/.
# It installs the program in /usr/lib/sipha (built dist/src and the production node_modules), /usr/bin/sipha, the
# systemd unit, the sysctl file, /etc/sipha with the example configs; postinst creates the `sipha` system user.
# Node is Debian's `nodejs` (>= 20: NodeSource's or Debian 13's), not bundled: it gets the distribution's security
# updates, and the package stays small (a bundled runtime would be 90 MB and ours to patch).
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(node -p "require('./package.json').version")
arch=all
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/sipha_${version}_${arch}"
lib="$root/usr/lib/sipha"
mkdir -p "$lib" "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/sysctl.d" "$root/etc/sipha" \
  "$root/usr/share/doc/sipha" "$root/DEBIAN"
# The test suite has built dist/ already (SIPHA_PREBUILT=1): building again under running tests could race them.
[ "${SIPHA_PREBUILT:-}" = 1 ] || npx tsc -p . >/dev/null
cp -r dist/src "$lib/dist-src"
mkdir -p "$lib/dist" && mv "$lib/dist-src" "$lib/dist/src"
cp package.json package-lock.json "$lib/"
(cd "$lib" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
rm "$lib/package-lock.json"
cat > "$root/usr/bin/sipha" <<'SH'
#!/bin/sh
exec /usr/bin/node /usr/lib/sipha/dist/src/cli/main.js "$@"
SH
chmod 755 "$root/usr/bin/sipha"
cp contrib/sipha.service "$root/lib/systemd/system/sipha.service"
cp contrib/90-sipha.conf "$root/etc/sysctl.d/90-sipha.conf"
cp contrib/examples/sipha.yaml contrib/examples/ha-node-a.yaml.example "$root/etc/sipha/"
cp README.md "$root/usr/share/doc/sipha/"
cat > "$root/DEBIAN/control" <<CTL
Package: sipha
Version: ${version}
Architecture: ${arch}
Maintainer: sipha developers <sipha@example.invalid>
Depends: nodejs (>= 20), iproute2, perl, adduser
Recommends: iputils-arping, ndisc6
Section: net
Priority: optional
Description: high-availability SIP server (primary/backup pair with IP address takeover)
 A SIP registrar and stateful proxy that runs as a primary/backup pair sharing a
 virtual IP: on failure the backup takes the address over, with registrations
 and calls already replicated.
CTL
printf '/etc/sipha/sipha.yaml\n/etc/sipha/ha-node-a.yaml.example\n/etc/sysctl.d/90-sipha.conf\n' > "$root/DEBIAN/conffiles"
cat > "$root/DEBIAN/postinst" <<'SH'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
  getent passwd sipha >/dev/null || adduser --system --group --home /var/lib/sipha --no-create-home sipha >/dev/null
  # The config may name keys and tokens: readable by the service, nobody else.
  chown root:sipha /etc/sipha && chmod 750 /etc/sipha
  if command -v sysctl >/dev/null; then sysctl -q -p /etc/sysctl.d/90-sipha.conf || true; fi
  if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
fi
SH
cat > "$root/DEBIAN/postrm" <<'SH'
#!/bin/sh
set -e
if [ "$1" = purge ]; then
  getent passwd sipha >/dev/null && deluser --quiet --system sipha >/dev/null || true
fi
SH
chmod 755 "$root/DEBIAN/postinst" "$root/DEBIAN/postrm"
mkdir -p dist-pkg
dpkg-deb --root-owner-group --build "$root" "dist-pkg/sipha_${version}_${arch}.deb" >/dev/null
echo "dist-pkg/sipha_${version}_${arch}.deb"
