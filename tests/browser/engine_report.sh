#!/bin/sh
# Dev-only, until emit_html exists: builds a report from the real engine's output.
#
#   tests/browser/engine_report.sh MODEL.grad OUTDIR [gradviz options...]
#
# Runs build/gradviz -f dot,json, gives every label cell an HREF (what DotOpts.cell_anchors
# does for the HTML report), renders the SVG with `dot -Tsvg`, and fills the templates with
# fill.mjs into OUTDIR/<stem>.html (next to OUTDIR/<stem>.json, which report.test.mjs then
# compares with the embedded trace).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
model=$1 out=$2
shift 2
stem=$(basename "$model" .grad)
mkdir -p "$out"
"$root/build/gradviz" -q -f dot,json -o "$out" "$@" "$model"
sed 's/<td id="\([ne][0-9]*-[a-z]*\)"/<td id="\1" href="#\1"/g' "$out/$stem.dot" > "$out/$stem.anchored.dot"
dot -Tsvg "$out/$stem.anchored.dot" > "$out/$stem.svg"
rm -f "$out/$stem.anchored.dot"
cp "$model" "$out/$stem.grad"
precision=4
while [ $# -gt 0 ]; do
  case $1 in --precision) precision=$2; shift ;; --precision=*) precision=${1#*=} ;; esac
  shift
done
node "$here/fill.mjs" --precision "$precision" "$out" "$stem" "$out/$stem.html"
