#!/bin/sh
# Runs every test and ends with one line "N passed, N failed".
#   unit: each cmocka binary in $BUILD/tests/ (its "[  PASSED  ] N" / "[  FAILED  ] N" lines)
#   e2e:  each tests/e2e/test_*.py (lines "ok - ..." / "not ok - ..."), run against the real
#         binary $BUILD/gradviz, so SAN=1 runs the end-to-end suite under ASan + UBSan too.
# Set TESTS=pattern to run only the files whose name contains pattern.
BUILD=${BUILD:-build/rel}
export GRADVIZ="$PWD/$BUILD/gradviz"
# Sanitizer options (SAN=1). exitcode=23: a leak or memory error never passes for one of our
# exit codes (a leak in a run that expects exit 1 used to exit 1). Leaks: ASan's fast unwinder
# here, with tests/lsan-fast.supp (it must name Graphviz's gmalloc, so a layout we forget to
# free is invisible in these runs); tests/e2e/test_leaks.py runs every format again with the
# slow unwinder and tests/lsan.supp, which sees leaks of ours through Graphviz (~15 s of CPU).
# The slow unwinder for the whole suite would double its time (measured on 2 cores: 2 min 9 s,
# 120 s CPU this way; 3 min 52 s, 216 s CPU with fast_unwind_on_malloc=0 everywhere).
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan-fast.supp:print_suppressions=0"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=23"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# packaging environments export SOURCE_DATE_EPOCH, which makes every run --reproducible; the
# tests of the default (timed) mode comparison must not inherit it
unset SOURCE_DATE_EPOCH
passed=0
failed=0
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

count() { # $1 = file with output; prints "p f"
    p=$(grep -c '^ok ' "$1")
    f=$(grep -c '^not ok ' "$1")
    echo "$p $f"
}

for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    case "$t" in *"${TESTS:-}"*) ;; *) continue ;; esac
    name=$(basename "$t")
    "$t" >"$log/out" 2>&1
    rc=$?
    p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test.*/\1/p' "$log/out" | tail -1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test.*/\1/p' "$log/out" | tail -1)
    p=${p:-0}
    f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi # crashed before its summary
    if [ "$f" -ne 0 ]; then
        echo "FAIL unit $name"
        grep -E 'FAILED|ERROR|error|Assert|runtime error|Sanitizer' "$log/out" | head -20 | sed 's/^/    /'
    else
        echo "pass unit $name ($p)"
    fi
    passed=$((passed + p))
    failed=$((failed + f))
done

for t in tests/e2e/test_*.py; do
    [ -f "$t" ] || continue
    case "$t" in *"${TESTS:-}"*) ;; *) continue ;; esac
    name=$(basename "$t")
    /usr/bin/python3 "$t" >"$log/out" 2>&1
    rc=$?
    set -- $(count "$log/out")
    p=$1
    f=$2
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    if [ "$f" -ne 0 ]; then
        echo "FAIL e2e $name"
        grep -A6 '^not ok' "$log/out" | head -60 | sed 's/^/    /'
        [ "$rc" -ne 0 ] && tail -15 "$log/out" | sed 's/^/    /'
    else
        echo "pass e2e $name ($p)"
    fi
    passed=$((passed + p))
    failed=$((failed + f))
done

# The fuzz smoke run (issue 7): replays tests/fuzz/regress, then ~40 s of both libFuzzer
# targets; one test that fails on any crash. Only in the plain run (FUZZ_SMOKE=1 from make
# test): the fuzzers carry their own ASan + UBSan.
if [ "${FUZZ_SMOKE:-0}" = 1 ] && [ -z "${TESTS:-}" ]; then
    if make --no-print-directory fuzz-smoke >"$log/out" 2>&1; then
        echo "pass fuzz smoke ($(grep -Eo '[0-9]+ executions' "$log/out" | tr '\n' ' '))"
        passed=$((passed + 1))
    else
        echo "FAIL fuzz smoke"
        tail -30 "$log/out" | sed 's/^/    /'
        failed=$((failed + 1))
    fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
