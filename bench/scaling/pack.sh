#!/bin/sh
# Builds a self-contained folder (./carry by default, or $1) that runs `npm run bench:scaling` on an x86-64 Linux
# machine with no Node, SIPp or Kamailio and no package manager (e.g. Ubuntu 24.04):
#   node.xz             this machine's node binary, compressed with Python's lzma (run.sh unpacks it)
#   bin/sipp, bin/kamailio and lib/ (every shared library ldd lists for them, node and the Kamailio modules,
#                       except glibc's own: the target's newer glibc serves them)
#   kamailio/modules/   the modules bench/kamailio/kamailio.cfg loads
#   app.tar.xz          dist/src and dist/bench (no source maps), the SIPp scenarios, kamailio.cfg, package.json and
#                       the production node_modules (no TypeScript sources, declarations, maps or docs)
#   run.sh              unpacks node, sets PATH and LD_LIBRARY_PATH, runs the benchmark (see bench/scaling/run.sh)
# The binaries come from PATH unless BENCH_NODE, BENCH_SIPP, BENCH_KAMAILIO name them; the modules from
# BENCH_KAMAILIO_MODULES (Debian's folder by default). The whole folder must stay under 64 MiB.
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
dest=${1:-$root/carry}
node=${BENCH_NODE:-$(command -v node)}
sipp=${BENCH_SIPP:-$(command -v sipp)}
kamailio=${BENCH_KAMAILIO:-$(command -v kamailio)}
modules=${BENCH_KAMAILIO_MODULES:-/usr/lib/x86_64-linux-gnu/kamailio/modules}
limit_kb=$((64 * 1024))

cd "$root"
npx tsc -p .

# node.xz takes a minute to compress: kept from an earlier pack of the same node binary.
stamp=$(sha256sum "$node" | cut -c1-16)
keep=
if [ -f "$dest/node.xz" ] && [ "$(cat "$dest/node.sha" 2>/dev/null)" = "$stamp" ]; then
  keep=$(mktemp)
  mv "$dest/node.xz" "$keep"
fi
rm -rf "$dest"
mkdir -p "$dest/bin" "$dest/lib" "$dest/kamailio/modules" "$dest/app/test" "$dest/app/bench/kamailio"
if [ -n "$keep" ]; then
  mv "$keep" "$dest/node.xz"
else
  python3 -c 'import lzma, shutil, sys
with open(sys.argv[1], "rb") as src, lzma.open(sys.argv[2], "wb", preset=9) as dst:
    shutil.copyfileobj(src, dst, 1 << 20)' "$node" "$dest/node.xz"
fi
echo "$stamp" >"$dest/node.sha"

cp -L "$sipp" "$dest/bin/sipp"
cp -L "$kamailio" "$dest/bin/kamailio"
for m in $(sed -n 's/^loadmodule "\([^"]*\)".*/\1/p' bench/kamailio/kamailio.cfg); do
  cp -L "$modules/$m" "$dest/kamailio/modules/$m"
done

# Shared libraries: ldd's "soname => path" lines, glibc's own left out (the loader, libc and the libraries glibc
# ships beside it: mixing glibc versions breaks on GLIBC_PRIVATE symbols).
for f in "$node" "$dest/bin/sipp" "$dest/bin/kamailio" "$dest"/kamailio/modules/*.so; do
  ldd "$f" | sed -n 's/^[[:space:]]*\([^ ]*\) => \(\/[^ ]*\) .*/\1 \2/p'
done | sort -u | while read -r soname path; do
  case $soname in
  ld-linux* | libc.so.* | libm.so.* | libpthread.so.* | libdl.so.* | librt.so.* | libresolv.so.* | libutil.so.* | libanl.so.* | libmvec.so.*) ;;
  *) cp -L "$path" "$dest/lib/$soname" ;;
  esac
done

# The app: what `node dist/bench/scaling/main.js` reads, relative to its working folder.
cp package.json "$dest/app/"
(cd dist && find src bench -name '*.js' | tar cf - -T -) | (cd "$dest/app" && mkdir dist && cd dist && tar xf -)
cp -r test/sipp "$dest/app/test/sipp"
cp bench/kamailio/kamailio.cfg "$dest/app/bench/kamailio/"
# Production node_modules: each package npm lists (nested ones too), without its own node_modules (listed apart),
# docs, TypeScript (sources and declarations: node 20 runs neither) and source maps.
npm ls --omit=dev --parseable --all 2>/dev/null | tail -n +2 | while read -r pkg; do
  rel=node_modules/${pkg#*/node_modules/}
  mkdir -p "$dest/app/$rel"
  (cd "$pkg" && tar cf - --exclude=./node_modules --exclude='*.md' --exclude='*.ts' --exclude='*.mts' \
    --exclude='*.cts' --exclude='*.map' .) | (cd "$dest/app/$rel" && tar xf -)
done

cp bench/scaling/run.sh "$dest/run.sh"
chmod +x "$dest/run.sh"

# The packed binaries must start with only the carried libraries (and this machine's glibc).
env -i LD_LIBRARY_PATH="$dest/lib" "$dest/bin/sipp" -v 2>&1 | grep -q 'SIPp v'
env -i LD_LIBRARY_PATH="$dest/lib" "$dest/bin/kamailio" -v | grep -q 'version: kamailio'
env -i LD_LIBRARY_PATH="$dest/lib" "$dest/bin/kamailio" -c -f "$dest/app/bench/kamailio/kamailio.cfg" \
  -A "MPATH=\"$dest/kamailio/modules/\"" >/dev/null 2>&1
for f in "$dest/bin/sipp" "$dest/bin/kamailio" "$dest"/kamailio/modules/*.so; do
  if env -i LD_LIBRARY_PATH="$dest/lib" ldd "$f" | grep -q 'not found'; then
    echo "pack: $f misses a library" >&2
    exit 1
  fi
done

nm_kb=$(du -sk "$dest/app/node_modules" | cut -f1)
(cd "$dest/app" && tar cf - .) | python3 -c 'import lzma, shutil, sys
with lzma.open(sys.argv[1], "wb", preset=9) as dst:
    shutil.copyfileobj(sys.stdin.buffer, dst, 1 << 20)' "$dest/app.tar.xz"
rm -rf "$dest/app"

size_kb=$(du -sk "$dest" | cut -f1)
echo "pack: $dest, $((size_kb / 1024)) MiB: node.xz $(du -sk "$dest/node.xz" | cut -f1) KiB, app.tar.xz $(du -sk "$dest/app.tar.xz" | cut -f1) KiB (node_modules $nm_kb KiB unpacked), bin $(du -sk "$dest/bin" | cut -f1) KiB, lib $(du -sk "$dest/lib" | cut -f1) KiB, kamailio/modules $(du -sk "$dest/kamailio" | cut -f1) KiB"
if [ "$size_kb" -gt "$limit_kb" ]; then
  echo "pack: over 64 MiB" >&2
  exit 1
fi
