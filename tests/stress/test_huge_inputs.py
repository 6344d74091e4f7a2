#!/usr/bin/python3
"""Huge and hostile inputs give a clear model error (exit 1, a message in compiler form), never
a crash, a hang or a write (SPEC §2: "Expressions nested deeper than a documented limit,
over-long lines and over-large files are model errors (exit 1), never crashes"). The inputs
are generated in $STRESS_TMP (default /tmp) and deleted afterwards; nothing big is committed.

Each case runs the binary with -f dot,json into a fresh output directory and checks: exit
status 1, no signal or sanitizer report, an "error:" line naming the problem, the time taken
and the peak RSS (reported), and that no output file was written."""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import GRADVIZ, TMP, check, crashed, finish, note, timed  # noqa: E402

MIB = 1 << 20


def write(path, parts):
    with open(path, "wb") as f:
        for p in parts:
            f.write(p if isinstance(p, bytes) else p.encode())


def expect_error(work, name, gen, want, rc_want=1, limit_s=60):
    path = os.path.join(work, name + ".grad")
    gen(path)
    size = os.path.getsize(path)
    out = os.path.join(work, "out-" + name)
    rc, err, secs, rss = timed([GRADVIZ, "-f", "dot,json", "-o", out, path], timeout=600)
    first = err.strip().splitlines()[0] if err.strip() else ""
    note(f"{name}: {size / MIB:.1f} MiB, exit {rc}, {secs:.2f} s ({timed.cpu:.2f} s CPU), peak RSS {rss / 1024:.0f} MiB: {first[:150]}")
    check(f"huge: {name} does not crash", not crashed(rc, err), err[-2000:])
    check(f"huge: {name} exits {rc_want}", rc == rc_want, err[-1500:])
    wants = want if isinstance(want, tuple) else (want,)
    check(f"huge: {name} says why ({' or '.join(wants)})", any(w in err for w in wants) and "error:" in err,
          err[-1500:])
    check(f"huge: {name} writes no output", not os.path.exists(out) or not os.listdir(out),
          os.listdir(out) if os.path.exists(out) else "")
    check(f"huge: {name} takes less than {limit_s} s of CPU", timed.cpu < limit_s, f"{timed.cpu} s CPU, {secs} s wall")
    os.remove(path)


def main():
    work = tempfile.mkdtemp(prefix="gradviz-huge-", dir=TMP)
    try:
        n = 100_000
        expect_error(work, "parens_100k", lambda p: write(p, ["input x = 1\ny = ", "(" * n, "x+1", ")" * n, "\n"]),
                     "nested deeper")
        expect_error(work, "minus_100k", lambda p: write(p, ["input x = 1\ny = ", "-" * n, "x\n"]), "nested deeper")
        expect_error(work, "pow_100k", lambda p: write(p, ["input x = 1\ny = x", "^x" * n, "\n"]), "nested deeper")
        expect_error(work, "calls_100k", lambda p: write(p, ["input x = 1\ny = ", "sin(" * n, "x", ")" * n, "\n"]),
                     "nested deeper")
        expect_error(work, "unclosed_100k", lambda p: write(p, ["input x = 1\ny = ", "(" * n, "\n"]),
                     "nested deeper")
        # lines: the limit is LEX_MAX_LINE = 1 MiB
        expect_error(work, "line_2mib_expr",
                     lambda p: write(p, ["input x = 1\ny = x", "+x" * (MIB), "\n"]), "line longer")
        expect_error(work, "line_2mib_comment", lambda p: write(p, ["input x = 1\ny = x*2 # ", "c" * (2 * MIB), "\n"]),
                     "line longer")
        expect_error(work, "line_2mib_spaces", lambda p: write(p, ["input x = 1\ny = x*2", " " * (2 * MIB), "\n"]),
                     "line longer")
        expect_error(work, "line_2mib_string", lambda p: write(p, ["model \"", "t" * (2 * MIB), "\"\ninput x = 1\ny = x*2\n"]),
                     "line longer")
        expect_error(work, "name_2mib", lambda p: write(p, ["input ", "x" * (2 * MIB), " = 1\ny = x*2\n"]),
                     "line longer")
        expect_error(work, "number_2mib", lambda p: write(p, ["input x = 1", "0" * (2 * MIB), "\ny = x*2\n"]),
                     ("line longer", "out of range"))
        expect_error(work, "fraction_2mib", lambda p: write(p, ["input x = 0.", "0" * (2 * MIB), "1\ny = x*2\n"]),
                     "line longer")
        # files: the limit is LEX_MAX_FILE = 256 MiB; 300 MiB of short valid lines
        def big_file(p):
            line = b"# " + b"c" * 61 + b"\n"  # 64 bytes
            block = line * (MIB // 64)
            with open(p, "wb") as f:
                f.write(b"input x = 1\ny = x*2\n")
                for _ in range(300):
                    f.write(block)
        expect_error(work, "file_300mib", big_file, "larger than")
        # the same size through stdin
        def big_stdin_case():
            path = os.path.join(work, "stdin.grad")
            big_file(path)
            with open(path, "rb") as f:
                rc, err, secs, rss = timed([GRADVIZ, "-f", "json", "-o", os.path.join(work, "out-stdin"), "-"],
                                           stdin=f, timeout=600)
            note(f"file_300mib_stdin: exit {rc}, {secs:.2f} s ({timed.cpu:.2f} s CPU), peak RSS {rss / 1024:.0f} MiB: "
                 f"{err.strip().splitlines()[0][:150] if err.strip() else ''}")
            check("huge: 300 MiB on stdin does not crash", not crashed(rc, err), err[-1500:])
            check("huge: 300 MiB on stdin exits 1 with 'larger than'", rc == 1 and "larger than" in err, err[-1500:])
            os.remove(path)
        big_stdin_case()
        # many statements on many lines: fine, not an error (a sanity check that the limits
        # above are about size, not about the number of lines)
        def many_lines(p):
            with open(p, "w") as f:
                f.write("input x0 = 0.5\n")
                for i in range(1, 200_001):
                    f.write(f"x{i} = x{i - 1}*1.000001\n")
        path = os.path.join(work, "lines_200k.grad")
        many_lines(path)
        rc, err, secs, rss = timed([GRADVIZ, "-q", "-f", "json", "-o", os.path.join(work, "out-lines"), path])
        note(f"lines_200k (valid, 200,001 nodes): exit {rc}, {secs:.2f} s ({timed.cpu:.2f} s CPU), peak RSS {rss / 1024:.0f} MiB")
        check("huge: 200,000 statements of one node each run fine", rc == 0 and not crashed(rc, err), err[-1500:])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    finish()


if __name__ == "__main__":
    main()
