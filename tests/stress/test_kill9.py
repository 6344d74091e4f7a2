#!/usr/bin/python3
"""Atomic writes under SIGKILL (SPEC §3: "an interrupted run never leaves a half-written
output"). A medium MLP model is rendered with --steps -f dot,json,svg (~270 files, ~2 s) and
killed with SIGKILL, again and again:
  - at a random moment of the run, and
  - the moment the first output appears under its final name (so inside the commit phase,
    where the temporaries are renamed one by one).
Half the runs start from an empty output directory, half from a complete set of older outputs
(same names, different values). After each kill every output name must hold either nothing,
the old bytes, or exactly the bytes of a complete new run: never anything else (JSON is
compared as parsed documents without the measured timings of its "modes" section). The reference
outputs are checked once for validity (JSON parses, DOT read by Graphviz's `nop`, SVG is XML).

Temporaries (".<name>.XXXXXX", made by mkstemp) left by a killed run cannot be removed by the
killed process; the test counts them, checks they are hidden dot-files in the output directory
and nowhere else, and that a following normal run still succeeds beside them.

KILL_RUNS=N sets the number of kills (default 160)."""
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import GRADVIZ, TMP, check, finish, note  # noqa: E402

RUNS = int(os.environ.get("KILL_RUNS", "160"))
ARGS = ["-q", "--steps", "-f", "dot,json,svg"]
TEMP_RE = re.compile(r"^\..+\.[A-Za-z0-9]{6}$")


def digest(path):
    """sha256 of the file; for JSON, of the parsed document without its measured timings (the
    trace's "modes" section reports seconds measured during the run, so two complete runs
    differ there). A truncated or corrupt JSON file gets a digest no complete file has."""
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".json"):
        try:
            doc = json.loads(data)
            if isinstance(doc, dict):
                doc.pop("modes", None)
            data = json.dumps(doc, sort_keys=True).encode()
        except ValueError:
            return "corrupt:" + hashlib.sha256(data).hexdigest()
    return hashlib.sha256(data).hexdigest()


def snapshot(d):
    return {n: digest(os.path.join(d, n)) for n in os.listdir(d) if not TEMP_RE.match(n)}


def run(model, out, extra=()):
    return subprocess.run([GRADVIZ] + ARGS + list(extra) + ["-o", out, model],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def validate_set(d, label):
    bad = []
    for n in sorted(os.listdir(d)):
        p = os.path.join(d, n)
        try:
            if n.endswith(".json"):
                with open(p, encoding="utf-8") as f:
                    json.load(f)
            elif n.endswith(".svg"):
                ET.parse(p)
            elif n.endswith(".dot"):
                r = subprocess.run(["nop", "-p", p], capture_output=True)
                if r.returncode != 0 or r.stderr:
                    bad.append(f"{n}: nop: {r.stderr.decode()[:200]}")
        except Exception as e:  # noqa: BLE001
            bad.append(f"{n}: {e}")
    check(f"kill9: the {label} outputs are valid JSON, DOT and SVG ({len(os.listdir(d))} files)", not bad,
          "\n".join(bad[:10]))


def main():
    work = tempfile.mkdtemp(prefix="gradviz-kill9-", dir=TMP)
    try:
        model = os.path.join(work, "mlp.grad")
        with open(model, "w") as f:
            subprocess.run([GRADVIZ, "gen", "mlp", "2,4,1", "--seed", "7"], stdout=f, check=True)
        model_hash = digest(model)
        ref_new, ref_old = os.path.join(work, "ref_new"), os.path.join(work, "ref_old")
        t0 = time.monotonic()
        r = run(model, ref_new)
        duration = time.monotonic() - t0
        check("kill9: a complete reference run succeeds", r.returncode == 0, r.stderr.decode())
        r = run(model, ref_old, ["--set", "x0=0.25", "--set", "w1_0_0=-0.5"])
        check("kill9: a complete run with other values succeeds", r.returncode == 0, r.stderr.decode())
        new, old = snapshot(ref_new), snapshot(ref_old)
        differ = sum(new[k] != old.get(k) for k in new)
        check("kill9: both runs write the same file names, nearly all with different contents",
              new.keys() == old.keys() and differ >= 0.9 * len(new), f"{len(new)} vs {len(old)} files, {differ} differ")
        validate_set(ref_new, "new")
        validate_set(ref_old, "old")
        note(f"reference run: {len(new)} files in {duration:.2f} s")

        rng = random.Random(1234)
        out = os.path.join(work, "out")
        bad, temps_total, temps_max, stray = [], 0, 0, []
        mixed = outcome_new = outcome_old = outcome_none = 0
        not_killed = 0
        for i in range(RUNS):
            shutil.rmtree(out, ignore_errors=True)
            start_old = i % 2 == 1
            if start_old:
                shutil.copytree(ref_old, out)
            else:
                os.makedirs(out)
            at_commit = i % 4 >= 2
            before = set(os.listdir(work))
            p = subprocess.Popen([GRADVIZ] + ARGS + ["-o", out, model], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            if at_commit:
                # wait for the first committed file: the DOT emitter runs first, so <stem>.dot is
                # the first temporary renamed; poll its inode every 0.2 ms (cheap, and the
                # commit of ~270 renames takes several ms)
                first = os.path.join(out, "mlp.dot")
                base = inode(first)
                deadline = time.monotonic() + 10 * duration + 5
                while p.poll() is None and time.monotonic() < deadline and inode(first) == base:
                    time.sleep(0.0002)
            else:
                time.sleep(rng.uniform(0, duration * 1.05))
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
            else:
                not_killed += 1
            p.wait()
            names = os.listdir(out)
            temps = [n for n in names if TEMP_RE.match(n)]
            temps_total += len(temps)
            temps_max = max(temps_max, len(temps))
            stray += [n for n in set(os.listdir(work)) - before]
            have = snapshot(out)
            kinds = set()
            for n in new:
                h = have.get(n)
                if h is None:
                    kinds.add("none")
                elif h == new[n]:
                    kinds.add("new")
                elif start_old and h == old[n]:
                    kinds.add("old")
                else:
                    bad.append(f"run {i}: {n} is neither absent, old nor the complete new file "
                               f"({os.path.getsize(os.path.join(out, n))} bytes)")
            extra = set(have) - set(new)
            if extra:
                bad.append(f"run {i}: unexpected files {sorted(extra)[:5]}")
            if len(kinds) > 1:
                mixed += 1
            elif kinds == {"new"}:
                outcome_new += 1
            elif kinds == {"old"}:
                outcome_old += 1
            else:
                outcome_none += 1
        check(f"kill9: after {RUNS} SIGKILLs every output is absent, old, or complete and new", not bad,
              "\n".join(bad[:15]))
        note(f"outcomes: {outcome_none} runs left no new file, {outcome_old} only old files, {outcome_new} a "
             f"complete new set, {mixed} a mix of old/absent and complete new files (killed mid-commit); "
             f"{not_killed} runs finished before the kill")
        check("kill9: some kills landed inside the commit phase (the test reaches it)", mixed > 0,
              "no run was killed between two renames")
        note(f"leftover temporaries: {temps_total} in {RUNS} killed runs (at most {temps_max} in one run)")
        check("kill9: leftover temporaries are hidden dot-files in the output directory, nothing elsewhere",
              not stray, f"new entries beside the output directory: {stray[:5]}")
        # a normal run beside the leftovers completes and replaces everything
        r = run(model, out)
        check("kill9: a normal run after the kills succeeds and writes the complete new set",
              r.returncode == 0 and snapshot(out) == new, r.stderr.decode())
        check("kill9: the model file is never modified", digest(model) == model_hash)
        catchable_signals(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    finish()


def catchable_signals(work):
    """Ctrl-C (SIGINT), SIGTERM and SIGHUP can be caught: a run interrupted by them should
    remove its temporaries before dying (only SIGKILL leaves them behind). Interrupts a larger
    run (~270 files) once a temporary exists."""
    model = os.path.join(work, "big.grad")
    with open(model, "w") as f:
        subprocess.run([GRADVIZ, "gen", "mlp", "3,6,6,1", "--seed", "7"], stdout=f, check=True)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        out = os.path.join(work, "sig-" + sig.name)
        os.makedirs(out)
        p = subprocess.Popen([GRADVIZ] + ARGS + ["-o", out, model], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while p.poll() is None and time.monotonic() < deadline and \
                not any(TEMP_RE.match(n) for n in os.listdir(out)):
            time.sleep(0.002)
        time.sleep(0.05)
        interrupted = p.poll() is None
        p.send_signal(sig)
        rc = p.wait()
        left = [n for n in os.listdir(out) if TEMP_RE.match(n)]
        finals = [n for n in os.listdir(out) if not TEMP_RE.match(n)]
        if not interrupted:
            note(f"{sig.name}: the run finished before the signal; not tested")
            continue
        check(f"kill9: a run interrupted by {sig.name} (exit {rc}) removes its temporaries",
              not left, f"{len(left)} temporaries left, e.g. {left[:3]}; {len(finals)} final files")


def inode(path):
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None


if __name__ == "__main__":
    main()
