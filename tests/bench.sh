#!/bin/sh
# make bench: performance figures for the closing notes (SPEC §6). Never a pass/fail test:
# machines are shared and noisy, so compare ratios within one run.
#   1. generated models of ~10k, ~100k and ~1M nodes (gen mlp and gen chain): whole-process
#      seconds and peak RSS for -f json and -f dot, bytes of RSS per node;
#   2. the forward and backward passes alone (tests/bench/bench_ad), and their ratio;
#   3. all default formats for the lecture-sized examples, and the layout formats for the
#      largest graphs under the layout limit.
# BENCH_QUICK=1 skips the 1M-node models.
set -u
BUILD=${BUILD:-build/rel}
G="$PWD/$BUILD/gradviz"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cc -O2 -std=c11 -Isrc $(pkg-config --cflags libcgraph) tests/bench/bench_ad.c "$BUILD/libgradviz.a" \
    $(pkg-config --libs libgvc libcgraph libcjson) -lhpdf -lm -o "$W/bench_ad" || exit 1

measure() { # label, then the command; prints seconds and peak RSS
    label=$1
    shift
    /usr/bin/time -f "%e %M" -o "$W/time" "$@" >/dev/null 2>"$W/err"
    rc=$?
    read -r secs kb <"$W/time"
    nodes=$(cat "$W/nodes" 2>/dev/null || echo 0)
    per=""
    [ "$nodes" -gt 0 ] && per=$(awk -v kb="$kb" -v n="$nodes" 'BEGIN { printf "%.0f", kb * 1024 / n }')
    printf '  %-34s %8s s %9s KB peak  %5s B/node  rc=%s\n' "$label" "$secs" "$kb" "$per" "$rc"
}

echo "== generated models: whole process (gradviz -q -f FORMAT) =="
sizes="mlp:32,48,48,1 chain:2000 mlp:100,150,150,1 chain:20000"
[ "${BENCH_QUICK:-0}" = 1 ] || sizes="$sizes mlp:300,500,500,1 chain:200000"
for s in $sizes; do
    kind=${s%%:*}
    shape=${s#*:}
    "$G" gen "$kind" "$shape" >"$W/m.grad"
    "$W/bench_ad" "$W/m.grad" >"$W/ad"
    sed -n 's/^\([0-9]*\) nodes.*/\1/p' "$W/ad" >"$W/nodes"
    echo "gen $kind $shape: $(cat "$W/ad")"
    measure "json" "$G" -q -f json -o "$W/o" "$W/m.grad"
    measure "dot" "$G" -q -f dot -o "$W/o" "$W/m.grad"
done

echo "== lecture-sized examples: default formats in one process =="
rm -f "$W/nodes"
for m in examples/*.grad; do
    measure "$(basename "$m") (default formats)" "$G" -q -o "$W/o" "$m"
done

echo "== layout formats near the limit ($((2000)) nodes) =="
"$G" gen chain 399 >"$W/chain.grad"
"$G" gen mlp 8,16,16,1 >"$W/mlp.grad"
for f in svg pdf html; do
    for m in chain mlp; do
        "$G" -q -f "$f" -o "$W/o" "$W/$m.grad" 2>/dev/null || continue
        measure "$m near limit -f $f" "$G" -q -f "$f" -o "$W/o" "$W/$m.grad"
    done
done

echo "== reverse vs forward mode: gen mlp 1000,500,500,1 --act relu (the lecture's demonstration) =="
if [ "${BENCH_QUICK:-0}" = 1 ]; then
    echo "  skipped (BENCH_QUICK=1)"
else
    # -v runs the comparison with its full 10 s budget and prints it; forward mode (1000 sweeps
    # over 2.25M nodes) is timed on a sample and extrapolated
    "$G" gen mlp 1000,500,500,1 --act relu >"$W/lecture.grad"
    /usr/bin/time -f "%e %M" -o "$W/time" "$G" -v -f json -o "$W/o" "$W/lecture.grad" >"$W/out" 2>"$W/err"
    rc=$?
    read -r secs kb <"$W/time"
    printf '  whole run (-v -f json): %s s, %s KB peak, rc=%s\n' "$secs" "$kb" "$rc"
    sed -n '/^mode comparison/,/^reverse mode:/p' "$W/out" | sed 's/^/  /'
    /usr/bin/time -f "%e %M" -o "$W/time" "$G" -q -f json -o "$W/o" "$W/lecture.grad"
    read -r secs kb <"$W/time"
    printf '  the same without -v (comparison budget 0.5 s): %s s, %s KB peak\n' "$secs" "$kb"
fi
