#!/bin/sh
# `make stress`: the slow robustness tests, never part of `make test`. Runs every
# tests/stress/test_*.py against $GRADVIZ (default build/rel/gradviz) and ends with one line
# "N passed, N failed", like tests/run.sh. TESTS=substring runs only the matching files.
#   test_kill9.py        atomic outputs under SIGKILL (KILL_RUNS=N kills, default 160)
#   test_huge_inputs.py  100,000-deep nesting, 2 MiB lines, a 300 MiB file: exit 1, no crash
#   test_big_models.py   1,000,000-node gen chain / gen mlp to JSON and DOT: time, peak RSS
# Big inputs are generated under $STRESS_TMP (default /tmp) and removed afterwards.
cd "$(dirname "$0")/../.." || exit 2
export GRADVIZ="${GRADVIZ:-$PWD/build/rel/gradviz}"
passed=0
failed=0
for t in tests/stress/test_*.py; do
    case "$t" in *"${TESTS:-}"*) ;; *) continue ;; esac
    echo "== $t"
    start=$(date +%s)
    out=$(/usr/bin/python3 "$t" 2>&1)
    rc=$?
    echo "$out"
    p=$(echo "$out" | grep -c '^ok ')
    f=$(echo "$out" | grep -c '^not ok ')
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    echo "== $t: $p passed, $f failed ($(($(date +%s) - start)) s)"
    passed=$((passed + p))
    failed=$((failed + f))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
