#!/bin/sh
# The scaling benchmark from the folder bench/scaling/pack.sh built: unpacks node and the app (xz, or Python's lzma)
# into a temporary folder, puts the carried sipp, kamailio and libraries first on PATH and LD_LIBRARY_PATH, and runs
# `node dist/bench/scaling/main.js` in the app. Results go to the folder given as $1: scaling.json, scaling.txt (the table) and scaling.log (progress).
# The benchmark's env knobs pass through (BENCH_WORKERS=1,2,4 BENCH_STEP_S=3 …; see bench/scaling/main.ts).
set -eu

if [ $# -lt 1 ]; then
  echo "usage: $0 OUTPUT_FOLDER" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)

# Unpacked outside this folder, which may be read-only.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sipha-carry.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
unxz() {
  if command -v xz >/dev/null 2>&1; then
    xz -dc "$1"
  else
    python3 -c 'import lzma, shutil, sys
with lzma.open(sys.argv[1], "rb") as src:
    shutil.copyfileobj(src, sys.stdout.buffer, 1 << 20)' "$1"
  fi
}
unxz "$here/node.xz" >"$tmp/node"
chmod +x "$tmp/node"
mkdir "$tmp/app"
unxz "$here/app.tar.xz" | tar xf - -C "$tmp/app"

PATH=$here/bin:$tmp:$PATH
LD_LIBRARY_PATH=$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
BENCH_NODE=$tmp/node
BENCH_SIPP=$here/bin/sipp
BENCH_KAMAILIO=$here/bin/kamailio
BENCH_KAMAILIO_MODULES=$here/kamailio/modules/
BENCH_OUT=$out
export PATH LD_LIBRARY_PATH BENCH_NODE BENCH_SIPP BENCH_KAMAILIO BENCH_KAMAILIO_MODULES BENCH_OUT

cd "$tmp/app"
# Progress on stderr (and in scaling.log) as it goes, the table at the end.
{
  "$tmp/node" dist/bench/scaling/main.js 2>&1 >"$out/scaling.txt" && echo 0 >"$tmp/rc" || echo $? >"$tmp/rc"
} | tee "$out/scaling.log" >&2
cat "$out/scaling.txt"
exit "$(cat "$tmp/rc")"
