#!/bin/sh
# Front-end development: the real report of a model, from the templates as they are in
# templates/ now (--template, so editing report.{html,css,js} needs no rebuild of gradviz).
#
#   tests/browser/engine_report.sh MODEL.grad OUTDIR [gradviz options...]
#
# writes OUTDIR/<stem>.html next to OUTDIR/<stem>.json and .dot, which report.test.mjs then
# compares with what the page embeds:
#
#   node tests/browser/report.test.mjs --shots /tmp/shots OUTDIR/<stem>.html
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
model=$1 out=$2
shift 2
exec "$root/build/gradviz" -q -f html,json,dot --template "$root/templates" -o "$out" "$@" "$model"
