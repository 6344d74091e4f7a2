#!/bin/sh
# Runs the libFuzzer targets built by `make fuzz-build` (build/fuzz/fuzz_model, fuzz_parse).
#
#   tests/fuzz/run.sh SECONDS [TARGET...]   fuzz the TARGETs side by side for SECONDS
#                                           (default: fuzz_model and fuzz_parse)
#   tests/fuzz/run.sh --smoke               CI smoke run: both targets side by side, ~45 s
#
# Environment: FUZZ_JOBS=N runs N fuzzing processes per target (libFuzzer -fork=N, which goes
# on after a crash and collects every reproducer); FUZZ_ARGS adds libFuzzer flags.
#
# First every input in tests/fuzz/regress/ is replayed once (each once crashed gradviz).
# Then each target fuzzes a working corpus build/fuzz/corpus/<target>/, seeded from
# examples/*.grad, tests/fuzz/corpus/ and the passing regression inputs, and kept between
# runs so long runs build on each other (--smoke starts from the seeds alone, in
# build/fuzz/smoke/). Crash reproducers land in build/fuzz/artifacts/.
#
# Exit status: 0 if no input crashed (sanitizer report, broken invariant, leak, timeout of
# more than 30 s on one input, or out of memory), 1 otherwise. The last line is
# "fuzz: N executions, N crashes".
cd "$(dirname "$0")/../.." || exit 2
B=build/fuzz
DICT=tests/fuzz/grad.dict
# set, not inherited: tests/run.sh exports its own (tests/lsan-fast.supp, which would hide leaks)
export ASAN_OPTIONS="abort_on_error=0:detect_leaks=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0"

corpora=$B/corpus
if [ "${1:-}" = "--smoke" ]; then
    # Deterministic: a fixed seed and a fixed number of runs from the seeds in the repository,
    # so the smoke run in CI explores exactly what it explored here (a new crash found by
    # chance would fail a submission for reasons unrelated to it). ~40 s on 2 loaded cores;
    # the time limit only caps a much slower machine.
    secs=240
    FUZZ_ARGS="-seed=1 -runs=${FUZZ_SMOKE_RUNS:-60000} ${FUZZ_ARGS:-}"
    # a fresh corpus of the seeds alone: the long-run corpus can hold thousands of inputs,
    # and loading them would take the whole smoke run
    corpora=$B/smoke
    rm -rf "$corpora"
    shift
    set -- fuzz_model fuzz_parse
else
    secs=${1:-60}
    [ $# -gt 0 ] && shift
    [ $# -eq 0 ] && set -- fuzz_model fuzz_parse
fi
case "$secs" in *[!0-9]*|'') echo "fuzz: SECONDS must be a whole number, got '$secs'" >&2; exit 2 ;; esac

for t in "$@"; do
    if [ ! -x "$B/$t" ]; then
        echo "fuzz: $B/$t is missing (run 'make fuzz-build'; it needs clang)" >&2
        exit 2
    fi
done

mkdir -p "$B/artifacts" "$B/logs"
crashes=0
execs=0

# 1. Regression inputs: each must now run clean through every target.
for t in "$@"; do
    for f in tests/fuzz/regress/*; do
        [ -f "$f" ] || continue
        if ! "$B/$t" -runs=1 "$f" >"$B/logs/replay.log" 2>&1; then
            echo "not ok - fuzz regression $(basename "$f") crashes $t"
            grep -E 'ERROR|runtime error|invariant|SUMMARY' "$B/logs/replay.log" | head -5 | sed 's/^/    /'
            crashes=$((crashes + 1))
        fi
    done
done
[ "$crashes" -eq 0 ] && echo "ok - fuzz regression inputs replay clean"

# 2. Fuzzing. Each target gets its own working corpus (coverage differs per target).
run_target() { # $1 target, $2 seconds; writes $B/logs/$1.log
    t=$1
    c=$corpora/$t
    mkdir -p "$c"
    for f in examples/*.grad tests/fuzz/corpus/*; do
        [ -f "$f" ] && cp -n "$f" "$c/" 2>/dev/null
    done
    for f in tests/fuzz/regress/*; do
        [ -f "$f" ] || continue
        "$B/$t" -runs=1 "$f" >/dev/null 2>&1 && cp -n "$f" "$c/regress_$(basename "$f")" 2>/dev/null
    done
    fork=""
    [ "${FUZZ_JOBS:-1}" -gt 1 ] && fork="-fork=$FUZZ_JOBS -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1"
    # shellcheck disable=SC2086
    "$B/$t" $fork -max_total_time="$2" -dict="$DICT" -max_len=4096 -timeout=30 -rss_limit_mb=2560 \
        -print_final_stats=1 -artifact_prefix="$B/artifacts/$t-" ${FUZZ_ARGS:-} "$c" >"$B/logs/$t.log" 2>&1
    echo $? >"$B/logs/$t.rc"
}

start=$(date +%s)
touch "$B/logs/.start"
for t in "$@"; do run_target "$t" "$secs" & done
wait
for t in "$@"; do
    log=$B/logs/$t.log
    rc=$(cat "$B/logs/$t.rc")
    # executions: the final stats line (single process) or the fork supervisor's last status
    n=$(sed -n 's/^stat::number_of_executed_units: *\([0-9][0-9]*\).*/\1/p' "$log" | tail -1)
    [ -n "$n" ] || n=$(sed -n 's/^#\([0-9][0-9]*\).*/\1/p' "$log" | tail -1)
    n=${n:-0}
    execs=$((execs + n))
    # crashes: reproducers written during this run (in fork mode the run goes on after one)
    c=$(find "$B/artifacts" -name "$t-*" -newer "$B/logs/.start" | wc -l)
    # 72: libFuzzer was interrupted (SIGINT/SIGTERM): not a crash
    [ "$rc" -eq 72 ] && [ "$c" -eq 0 ] && rc=0
    if [ "$rc" -ne 0 ] || [ "$c" -ne 0 ]; then
        [ "$c" -eq 0 ] && c=1
        crashes=$((crashes + c))
        echo "not ok - fuzz $t: $n executions, $c crashing inputs (exit $rc); reproducers in $B/artifacts/, log $log"
        grep -E 'ERROR|runtime error|invariant|SUMMARY|Test unit written' "$log" | head -10 | sed 's/^/    /'
    else
        echo "ok - fuzz $t: $n executions in $(($(date +%s) - start))s, no crash ($(ls "$corpora/$t" | wc -l) corpus inputs)"
    fi
done
echo "fuzz: $execs executions, $crashes crashes ($(($(date +%s) - start)) s)"
[ "$crashes" -eq 0 ]
