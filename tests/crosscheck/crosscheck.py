#!/usr/bin/python3
"""Cross-check of gradviz against another autodiff system (PyTorch, float64) on random models.

    /usr/bin/python3 tests/crosscheck/crosscheck.py [-n N] [--seed S] [--bin build/rel/gradviz]
                                                    [--keep DIR] [-v]

For each of N random models (gen_models.py, a fixed seed), the model is evaluated twice:
gradviz runs it (`gradviz -q -f json -o DIR model.grad`) and writes its JSON trace; torch
evaluates the same model from the generator's AST (never from gradviz's parse or trace) with
float64 tensors and autograd. Compared, per model:

  structure  every node of the trace has the op, operands (node ids, folded literals), name and
             kind that the AST gives, in post-order (so precedence and folding are checked)
  op-level   every op node's value and every edge's local derivative against torch applied to the
             operand values of the trace (one op at a time: no error propagation). torch's own
             ops here: maximum/minimum, F.softplus. A difference beyond 8 ulp is arbitrated
             with mpmath (256-bit) at the same operands, under the conventions SPEC §2 states
             (relu'(0) = 0, |a|'(0) = 0, max/min: all to the selected operand): when gradviz is
             within 8 ulp of the exact value it is a torch precision or convention difference
             (counted, not failed); otherwise it fails.
  global     every node's forward value, every node's gradient w.r.t. the primary output and the
             Jacobian (every output w.r.t. every input and param) against torch's end-to-end
             forward and backward pass. Here max/min are torch.where(a >= b, a, b) (the selected
             operand takes all, first on a tie: SPEC §2) and softplus is F.softplus(a, threshold=37).
             Tolerance: a first-order bound of how far two float64 evaluations that each round
             every operation differently by up to 4 ulp can drift apart, computed with torch
             itself: the value of each op node whose result may differ between the two (pow and
             the transcendental functions; + - × ÷ sqrt etc. are correctly rounded in both) is
             written y·(1 + d_r) - e_r with d_r = e_r = 0, and the bound is
             4·(u·sum_r |∂q/∂d_r| + 2^-1074·sum_r |∂q/∂e_r|) (double backward for gradients)
             plus the local derivatives' own rounding carried along the backward sweep; the test is |gradviz - torch| <=
             2·bound + 16·2^-1074. Non-finite results must match exactly (nan, inf, -inf), unless a
             finite result is within the bound of overflowing.
             Where a branch is decided within the rounding bound (relu/abs argument, max/min
             operands, or the sign of a log/sqrt/pow/div argument, near 0), the affected
             comparisons are counted as unchecked, not compared.

Prints one line per failing model (with -v, the details and the model), then the counts and
`N passed, N failed` (one model is one test). Exit 1 when any model failed.
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_models  # noqa: E402

import mpmath  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_default_dtype(torch.float64)
U = 2.0 ** -53
K = 4.0          # per-operation difference allowed between the two systems, in units of u
ATOL = 16 * 2.0 ** -1074  # 16 units of the smallest denormal
TINY = 2.0 ** -1074
# ops whose float64 results may differ between gradviz (glibc) and torch: the others (+ - × ÷ neg
# sqrt relu abs max min) are correctly rounded, so equal operands give equal results in both
INEXACT = {"pow", "sin", "cos", "tan", "exp", "log", "tanh", "sigmoid", "softplus"}
ULP8 = 8 * U
INF = math.inf

# ---------------------------------------------------------------------------------------------
# torch operators. Operands are tensors (nodes) or floats (folded literals).


def T(x):
    return x if torch.is_tensor(x) else torch.tensor(float(x))


def _max_spec(a, b):
    a, b = T(a), T(b)
    return torch.where((a >= b) | torch.isnan(a), a, b)


def _min_spec(a, b):
    a, b = T(a), T(b)
    return torch.where((a <= b) | torch.isnan(a), a, b)


def _softplus(a):
    # log1p(exp(a)) below 37, a above (where e^-a < u/2·a): accurate on both sides. torch's
    # default threshold 20 loses up to 1e-10 relative, and logaddexp(a, 0) computes
    # log(1 + exp(-|a|)): softplus(-40) = 0 instead of 4.25e-18
    return F.softplus(T(a), beta=1, threshold=37)


OPS = {
    "add": lambda a, b: T(a) + b if torch.is_tensor(a) else a + T(b),
    "sub": lambda a, b: T(a) - b if torch.is_tensor(a) else a - T(b),
    "mul": lambda a, b: T(a) * b if torch.is_tensor(a) else a * T(b),
    # not float / tensor: torch computes that as reciprocal(b)·a, and 0/1.5e-320 gives NaN
    "div": lambda a, b: torch.div(T(a), T(b)),
    "neg": lambda a: -T(a),
    "pow": lambda a, b: torch.pow(a, b) if (torch.is_tensor(a) or torch.is_tensor(b)) else torch.pow(T(a), b),
    "sin": lambda a: torch.sin(T(a)), "cos": lambda a: torch.cos(T(a)), "tan": lambda a: torch.tan(T(a)),
    "exp": lambda a: torch.exp(T(a)), "log": lambda a: torch.log(T(a)), "sqrt": lambda a: torch.sqrt(T(a)),
    "tanh": lambda a: torch.tanh(T(a)), "sigmoid": lambda a: torch.sigmoid(T(a)),
    "relu": lambda a: torch.relu(T(a)), "abs": lambda a: torch.abs(T(a)),
    "softplus": _softplus, "max": _max_spec, "min": _min_spec,
}
# torch's own operators, for the op-level check
NATIVE = dict(OPS, max=lambda a, b: torch.maximum(T(a), T(b)), min=lambda a, b: torch.minimum(T(a), T(b)),
              softplus=lambda a: F.softplus(T(a)))


def torch_op_local(op, args, table=NATIVE):
    """torch's value of op over args [(is_node, float)] and its derivative w.r.t. each node
    operand (None for literal slots), by autograd on fresh leaves."""
    ins = []
    for is_node, v in args:
        ins.append(torch.tensor(v, requires_grad=True) if is_node else v)
    y = table[op](*ins)
    leaves = [x for x in ins if torch.is_tensor(x)]
    gs = torch.autograd.grad(y, leaves, allow_unused=True) if leaves and y.requires_grad else [None] * len(leaves)
    out, k = [], 0
    for x in ins:
        if torch.is_tensor(x):
            g = gs[k]
            k += 1
            out.append(0.0 if g is None else float(g))
        else:
            out.append(None)
    return float(y), out


# ---------------------------------------------------------------------------------------------
# exact values with mpmath, under SPEC §2's conventions, for arbitration


mpmath.mp.prec = 256
NAN = math.nan


def mp_local(op, a, b=None):
    """(value, [d0, d1]) exact then rounded to double; None where the operands are not finite."""
    vals = [a] if b is None else [a, b]
    if not all(math.isfinite(v) for v in vals):
        return None
    mp = mpmath.mp
    A = mpmath.mpf(a)
    B = mpmath.mpf(b) if b is not None else None

    def f(x):
        return float(x)

    def sig(x):
        return 1 / (1 + mpmath.exp(-x))
    if op == "add":
        return f(A + B), [1.0, 1.0]
    if op == "sub":
        return f(A - B), [1.0, -1.0]
    if op == "mul":
        return f(A * B), [b, a]
    if op == "div":
        if b == 0:
            return None
        return f(A / B), [f(1 / B), f(-A / B ** 2)]
    if op == "neg":
        return -a, [-1.0]
    if op == "pow":
        if a < 0 and b != int(b):
            return NAN, [NAN, NAN]
        if a == 0:
            return None
        y = mpmath.power(A, B)
        d0 = 0.0 if b == 0 else f(B * mpmath.power(A, B - 1))
        d1 = NAN if a < 0 else f(y * mpmath.log(A))
        return f(y), [d0, d1]
    if op in ("sin", "cos", "tan", "exp", "tanh", "sigmoid", "softplus"):
        fn = {"sin": mpmath.sin, "cos": mpmath.cos, "tan": mpmath.tan, "exp": mpmath.exp, "tanh": mpmath.tanh,
              "sigmoid": sig, "softplus": lambda x: mpmath.log1p(mpmath.exp(x))}[op]
        df = {"sin": mpmath.cos, "cos": lambda x: -mpmath.sin(x), "tan": lambda x: 1 / mpmath.cos(x) ** 2,
              "exp": mpmath.exp, "tanh": lambda x: 1 / mpmath.cosh(x) ** 2,
              "sigmoid": lambda x: sig(x) * sig(-x), "softplus": sig}[op]
        with mp.workprec(256 + int(abs(a)).bit_length() * 2):
            return f(fn(A)), [f(df(A))]
    if op == "log":
        if a <= 0:
            return None
        return f(mpmath.log(A)), [f(1 / A)]
    if op == "sqrt":
        if a <= 0:
            return None
        return f(mpmath.sqrt(A)), [f(1 / (2 * mpmath.sqrt(A)))]
    if op == "relu":
        return (a if a > 0 else 0.0), [1.0 if a > 0 else 0.0]
    if op == "abs":
        return abs(a), [1.0 if a > 0 else -1.0 if a < 0 else 0.0]
    if op == "max":
        return (a if a >= b else b), ([1.0, 0.0] if a >= b else [0.0, 1.0])
    if op == "min":
        return (a if a <= b else b), ([1.0, 0.0] if a <= b else [0.0, 1.0])
    raise ValueError(op)


def np_local(op, a, b=None):
    """SPEC §2's rule evaluated with C/IEEE double semantics (numpy), for zero operands where
    the real function has no value or derivative. pow follows ops.c's conventions, which are
    torch's: ∂/∂a = 0 when b = 0, ∂/∂b = 0 when a = 0 and b >= 0."""
    import numpy as np
    with np.errstate(all="ignore"):
        A, B = np.float64(a), np.float64(b if b is not None else 0)
        if op == "div":
            return float(A / B), [float(1 / B), float(-A / (B * B))]
        if op == "pow":
            y = np.power(A, B)
            d0 = 0.0 if B == 0 else float(B * np.power(A, B - 1))
            d1 = 0.0 if (A == 0 and B >= 0) else float(y * np.log(A))
            return float(y), [d0, d1]
        if op == "log":
            return float(np.log(A)), [float(1 / A)]
        if op == "sqrt":
            y = np.sqrt(A)
            return float(y), [float(1 / (2 * y))]
    return NAN, [NAN, NAN]


# ---------------------------------------------------------------------------------------------
# comparisons


def same(x, y):
    """Equal as doubles, NaN equal to NaN (and -0 equal to 0)."""
    return x == y or (math.isnan(x) and math.isnan(y))


def close(x, y, tol):
    if same(x, y):
        return True
    if not (math.isfinite(x) and math.isfinite(y)):
        return False
    return abs(x - y) <= tol


def jnum(v, marker):
    if v is None:
        return {"nan": NAN, "inf": INF, "-inf": -INF}.get(marker, NAN)
    return float(v)


class Result:
    def __init__(self):
        self.count = {}       # comparison kind -> number compared
        self.unchecked = {}   # kind -> number not compared (unstable branch)
        self.notes = {}       # classified differences that are not failures -> count
        self.note_examples = {}
        self.fails = []

    def n(self, kind, k=1):
        self.count[kind] = self.count.get(kind, 0) + k

    def skip(self, kind, k=1):
        self.unchecked[kind] = self.unchecked.get(kind, 0) + k

    def note(self, cls, example, key=None):
        self.notes[cls] = self.notes.get(cls, 0) + 1
        ex = self.note_examples.setdefault(cls, {})
        if len(ex) < 6 and (key or example) not in ex:
            ex[key or example] = example

    def fail(self, msg):
        self.fails.append(msg)


# ---------------------------------------------------------------------------------------------
# the torch model, built from the generator's AST


class TorchModel:
    def __init__(self, m):
        self.nodes = []   # {kind, name, op, args [(is_node, id or value)], t, delta}
        env = {}
        for kind, name, neg, text in m.leaves:
            v = float(text)
            v = -v if neg else v
            t = torch.tensor(v, requires_grad=True)  # const too: gradients of const-only branches
            self.nodes.append({"kind": kind, "name": name, "t": t, "delta": None})
            env[name] = len(self.nodes) - 1
        for marker, name, ast in m.stmts:
            is_node, nid = self.ev(ast, env)
            assert is_node
            self.nodes[nid]["name"] = name
            env[name] = nid
        marked = [env[name] for marker, name, ast in m.stmts if marker]
        self.outputs = marked or [env[m.stmts[-1][1]]]

    def ev(self, ast, env):
        if ast[0] == "num":
            return False, float(ast[1])
        if ast[0] == "ref":
            return True, env[ast[1]]
        op = ast[1]
        args = [self.ev(a, env) for a in ast[2]]
        if not any(is_node for is_node, _ in args):  # folded literal
            with torch.no_grad():
                return False, float(OPS[op](*[T(v) for _, v in args]))
        ins = [self.nodes[v]["t"] if is_node else v for is_node, v in args]
        y = OPS[op](*ins)
        d = eta = None
        t = y
        if op in INEXACT:
            d = torch.zeros((), requires_grad=True)
            eta = torch.zeros((), requires_grad=True)
            # exactly y (x - 0 keeps the sign of a zero); ∂q/∂d and ∂q/∂eta are q's sensitivities
            # to a relative and an absolute (denormal range) rounding error of y
            t = y * (1 + d) - eta
        self.nodes.append({"kind": "op", "op": op, "args": args, "t": t, "delta": d, "eta": eta, "name": None})
        return True, len(self.nodes) - 1


def sens(q, deltas):
    """K·(u·sum_r |∂q/∂d_r| + 2^-1074·sum_r |∂q/∂eta_r|): how far q moves, to first order, when
    every op result is off by K ulp (or K units of the smallest denormal)."""
    if not torch.is_tensor(q) or not q.requires_grad:
        return 0.0
    gs = torch.autograd.grad(q, deltas, allow_unused=True, retain_graph=True)
    h = len(deltas) // 2
    s = [0.0, 0.0]
    for j, g in enumerate(gs):
        if g is not None:
            s[j >= h] += abs(float(g))
    return K * (U * s[0] + TINY * s[1])


def descendants(nodes, start):
    out = {start}
    for i in range(start + 1, len(nodes)):
        n = nodes[i]
        if n["kind"] == "op" and any(is_node and v in out for is_node, v in n["args"]):
            out.add(i)
    return out


def ancestors(nodes, start):
    out = {start}
    for i in range(start, -1, -1):
        if i in out and nodes[i]["kind"] == "op":
            out.update(v for is_node, v in nodes[i]["args"] if is_node)
    return out


def check_model(m, trace, res, detail):
    tm = TorchModel(m)
    nodes = tm.nodes
    tn = trace["nodes"]
    nn = len(nodes)
    # ---- structure
    res.n("structure")
    ok = len(tn) == nn and trace["outputs"] == tm.outputs
    for i in range(min(nn, len(tn))):
        a, b = nodes[i], tn[i]
        if a["kind"] != b["kind"] or a["name"] != b["name"]:
            ok = False
        elif a["kind"] == "op":
            if b["op"] != a["op"] or len(b["args"]) != len(a["args"]):
                ok = False
                continue
            for (is_node, v), arg in zip(a["args"], b["args"]):
                if is_node != ("node" in arg):
                    ok = False
                elif is_node and arg["node"] != v:
                    ok = False
                elif not is_node and not same(jnum(arg["const"], arg.get("nonfinite")), v):
                    ok = False
    if not ok:
        res.fail("structure: trace nodes differ from the model's AST\n" + json.dumps(tn)[:2000])
        return
    gv_val = [jnum(n["value"], n.get("nonfinite")) for n in tn]
    gv_grad = [None if n["kind"] == "const" else jnum(n["grad"], n.get("grad_nonfinite")) for n in tn]
    edges = {(e["to"], e["slot"]): e for e in trace["edges"]}

    # ---- op level: each op at gradviz's operand values
    conv = set()  # op nodes where torch's op differs by a classified convention (NaN, zero, inf operands)
    for i, n in enumerate(nodes):
        if n["kind"] != "op":
            continue
        args = [(is_node, gv_val[v] if is_node else v) for is_node, v in n["args"]]
        tv, tl = torch_op_local(n["op"], args)
        gl = []
        for slot, (is_node, _) in enumerate(n["args"]):
            if is_node:
                e = edges[(i, slot)]
                gl.append(jnum(e["local"], e.get("local_nonfinite")))
            else:
                gl.append(None)
        qs = [("value", gv_val[i], tv, None)] + [("local", gl[s], tl[s], s) for s in range(len(gl)) if gl[s] is not None]
        for kind, g, t, slot in qs:
            res.n("op-" + kind)
            scale = max(abs(g), abs(t)) if math.isfinite(g) and math.isfinite(t) else 0
            if close(g, t, ULP8 * scale + ATOL):
                continue
            opargs = [v for _, v in args]
            where = f"{n['op']}({', '.join(repr(v) for v in opargs)})" + (f" d/d(slot {slot})" if slot is not None else "")
            # known conventions of torch's own operators
            if n["op"] in ("max", "min") and kind == "local" and opargs[0] == opargs[1]:
                res.note("(b) max/min tie: torch splits the gradient in halves, gradviz gives all to the "
                         "first operand (SPEC §2: 'max/min: 1 to the selected operand, 0 to the other')",
                         f"{where}: gradviz {g!r}, torch {t!r}")
                continue
            msg = f"{where}: gradviz {g!r}, torch {t!r}"
            if n["op"] in ("max", "min", "relu", "abs") and kind == "local" and any(math.isnan(v) for v in opargs):
                res.note("(b) kink derivative at a NaN operand: gradviz applies SPEC §2's rule as written "
                         "('relu 1 if a>0 else 0', 'abs sign(a)', max/min 'the selected operand' by a >= b), "
                         "torch's relu/abs/maximum/minimum backward give 1, 0, 1 and 1",
                         msg, key=(n["op"], slot, g, t))
                conv.add(i)
                continue
            if not all(math.isfinite(v) for v in opargs):
                res.note("(?) non-finite operand, derivative undefined in the reals", msg, key=(n["op"], kind, slot, g, t))
                conv.add(i)
                continue
            ex = mp_local(n["op"], *opargs)
            if ex is None:
                ieee = np_local(n["op"], *opargs)
                ie = ieee[0] if kind == "value" else ieee[1][slot]
                if same(g, ie) and not same(t, ie):
                    res.note("(c) torch differs from the IEEE/C evaluation of SPEC §2's rule at a zero operand",
                             msg + f", C/IEEE {ie!r}", key=(n["op"], kind, slot, g, t))
                    conv.add(i)
                    continue
            exact = None
            if ex is not None:
                exact = ex[0] if kind == "value" else ex[1][slot]
            if n["op"] == "softplus" and opargs[0] > 20 and exact is not None and close(g, exact, ULP8 * abs(exact) + ATOL):
                res.note("(c) torch F.softplus returns a itself for a > 20 (threshold=20), not log(1+e^a)",
                         f"{where}: gradviz {g!r}, torch {t!r}, exact {exact!r}")
                continue
            if exact is not None and close(g, exact, ULP8 * abs(exact) + ATOL):
                res.note(f"(c) torch {kind} of {n['op']} less accurate than gradviz's",
                         f"{where}: gradviz {g!r}, torch {t!r}, exact {exact!r}")
                conv.add(i)
                continue
            res.fail(f"op-{kind} {where}: gradviz {g!r}, torch {t!r}, exact {exact!r} (node {i})")

    # ---- global: torch forward and backward end to end
    deltas = [n["delta"] for n in nodes if n["delta"] is not None]
    deltas += [n["eta"] for n in nodes if n["delta"] is not None]
    if not deltas:  # sens() needs at least one: a zero that nothing depends on
        deltas = [torch.zeros((), requires_grad=True)] * 2
    tval = [float(n["t"]) for n in nodes]
    fe = [0.0 if n["kind"] != "op" else sens(n["t"], deltas) for n in nodes]
    # locals at torch's values (for the backward-sweep part of the bound), and unstable branches
    tloc = {}
    kink, domain = set(), set()
    for i, n in enumerate(nodes):
        if n["kind"] != "op":
            continue
        args = [(is_node, tval[v] if is_node else v) for is_node, v in n["args"]]
        _, loc = torch_op_local(n["op"], args, OPS)
        for s, (is_node, v) in enumerate(n["args"]):
            if is_node:
                tloc[(i, s)] = (v, loc[s])
        va = [(tval[v], fe[v]) if is_node else (v, 0.0) for is_node, v in n["args"]]

        def near0(x, e):
            return e > 0 and not abs(x) > 2 * e  # also when x or e is nan
        op = n["op"]
        if op in ("relu", "abs") and near0(*va[0]):
            kink.add(i)
        if op in ("max", "min") and near0(va[0][0] - va[1][0], va[0][1] + va[1][1]):
            kink.add(i)
        if op in ("log", "sqrt") and near0(*va[0]):
            domain.add(i)
        if op == "div" and near0(*va[1]):
            domain.add(i)
        if op == "pow":
            if near0(*va[0]) or (va[0][0] < 0 and va[1][1] > 0):
                domain.add(i)
            if near0(*va[1]):
                kink.add(i)
    value_skip = set()
    for i in domain:
        value_skip |= descendants(nodes, i)
    for i, n in enumerate(nodes):
        res.n("value")
        if i in value_skip:
            res.skip("value")
            continue
        g, t = gv_val[i], tval[i]
        if close(g, t, 2 * fe[i] + ATOL):
            continue
        if any(c in conv and i in descendants(nodes, c) for c in conv):
            res.note("(=) follows from an op-level difference classified above",
                     f"value node {i}: gradviz {g!r}, torch {t!r}", key=("value", g, t))
            continue
        if math.isinf(g) != math.isinf(t) and (abs(t) + 2 * fe[i] >= 1.7976931348623157e308
                                                or abs(g) + 2 * fe[i] >= 1.7976931348623157e308 or not math.isfinite(fe[i])):
            res.skip("value")
            continue
        if not math.isfinite(fe[i]) and math.isfinite(g) and math.isfinite(t):
            res.skip("value")
            continue
        res.fail(f"value node {i} ({n.get('op', n['kind'])}): gradviz {g!r}, torch {t!r}, bound {2 * fe[i]:.3g}")

    leaves = [i for i, n in enumerate(nodes) if n["kind"] in ("input", "param")]
    jac = trace.get("jacobian")
    jnf = {(e["row"], e["col"]): e["value"] for e in (jac or {}).get("values_nonfinite", [])}
    for k, out in enumerate(tm.outputs):
        ts = [n["t"] for n in nodes]
        gs = torch.autograd.grad(nodes[out]["t"], ts, allow_unused=True, retain_graph=True, create_graph=True)
        tg = [0.0 if g is None else float(g) for g in gs]
        # skipped: everything when a domain branch feeds this output; ancestors of a kink
        reach = ancestors(nodes, out)
        skip = set()
        if any(i in reach for i in domain):
            skip = set(range(nn))
        for i in kink:
            if i in reach:
                skip |= ancestors(nodes, i)
        # the backward sweep's own rounding: E(v) = sum over out-edges of
        # |g(c)|·eps(local) + E(c)·|local| + K·u·|g(c)·local|
        E = [0.0] * nn
        for c in range(nn - 1, -1, -1):
            if nodes[c]["kind"] != "op":
                continue
            for s, (is_node, v) in enumerate(nodes[c]["args"]):
                if not is_node:
                    continue
                _, loc = tloc[(c, s)]
                eps = K * U * (max(abs(loc), 1.0) if nodes[c]["op"] in ("tanh", "sigmoid") else abs(loc)) + K * TINY
                E[v] += abs(tg[c]) * eps + E[c] * abs(loc) + K * U * abs(tg[c] * loc)
        # torch's relu, where (max/min) and pow backward select a zero instead of multiplying
        # by a zero local derivative: with a non-finite gradient above, torch sends 0 and gradviz
        # inf·0 = NaN (SPEC §4: an edge's grad is ∂L/∂(to) · local)
        masked = set()
        for c in range(nn):
            if nodes[c]["kind"] == "op" and nodes[c]["op"] in ("relu", "max", "min", "pow") \
                    and not math.isfinite(tg[c]):
                for s, (is_node, v) in enumerate(nodes[c]["args"]):
                    if is_node and tloc[(c, s)][1] == 0:
                        masked |= ancestors(nodes, v)
        nanmax = set()  # max/min with a NaN operand: which one is "selected" is a convention
        for c in range(nn):
            if nodes[c]["kind"] == "op" and nodes[c]["op"] in ("max", "min") and c in reach:
                va = [tval[v] if is_node else v for is_node, v in nodes[c]["args"]]
                if any(math.isnan(v) for v in va):
                    nanmax |= ancestors(nodes, c) - {c}
        targets = range(nn) if k == 0 else leaves
        for i in targets:
            if nodes[i]["kind"] == "const":
                continue
            kind = "grad" if k == 0 else "jacobian"
            res.n(kind)
            if k == 0:
                g = gv_grad[i]
            else:
                col = [c["id"] for c in jac["cols"]].index(i)
                g = jnum(jac["values"][k][col], jnf.get((k, col)))
            t = tg[i]
            if i in skip:
                res.skip(kind)
                continue
            if same(g, t):
                continue
            bound = sens(gs[i], deltas) + E[i] if gs[i] is not None else E[i]
            if close(g, t, 2 * bound + ATOL):
                continue
            if any(c in reach and i in ancestors(nodes, c) and i != c for c in conv):
                res.note("(=) follows from an op-level difference classified above",
                         f"{kind} d(node {out})/d(node {i}): gradviz {g!r}, torch {t!r}", key=(kind, g, t))
                continue
            if i in nanmax:
                res.note("(b) max/min with a NaN operand: gradviz's d_max/d_min send the gradient to the "
                         "second operand unless the first compares >= (<=), whichever is NaN; the torch "
                         "model here selects the NaN operand (torch.maximum: both)",
                         f"{kind} d(node {out})/d(node {i}): gradviz {g!r}, torch {t!r}", key=(out, i, g, t))
                continue
            if i in masked and math.isnan(g) and not math.isnan(t):
                res.note("(b) inf·0: a zero local derivative below a non-finite gradient gives NaN in "
                         "gradviz (SPEC §4: grad = ∂L/∂(to) · local, IEEE inf·0 = NaN), 0 in torch "
                         "(relu/where/pow backward select 0)", f"{kind} d(node {out})/d(node {i}): "
                         f"gradviz {g!r}, torch {t!r}")
                continue
            if not math.isfinite(bound):
                res.note("(c) ill-conditioned: an infinite local derivative or gradient on the path "
                         "(inf·0 against inf·tiny, or a local 1/a that overflows where torch divides "
                         "grad/a); both follow IEEE arithmetic", f"{kind} d(node {out})/d(node {i}): "
                         f"gradviz {g!r}, torch {t!r}", key=(kind, math.isnan(g), math.isnan(t), math.isinf(g), math.isinf(t)))
                continue
            if math.isinf(g) != math.isinf(t) and (abs(t) + 2 * bound >= 1.7976931348623157e308
                                                    or abs(g) + 2 * bound >= 1.7976931348623157e308):
                res.skip(kind)
                continue
            res.fail(f"{kind} d(node {out})/d(node {i}): gradviz {g!r}, torch {t!r}, bound {2 * bound:.3g}")
    # the Jacobian's first row is the primary output's gradient: same numbers as the nodes'
    if jac is not None:
        res.n("jacobian")
        for j, c in enumerate(jac["cols"]):
            g = gv_grad[c["id"]]
            r = jnum(jac["values"][0][j], jnf.get((0, j)))
            if not same(g, r):
                res.fail(f"jacobian row 0 col {j}: {r!r} but node grad {g!r}")


def load_trace(f):
    """json.load, keeping the sign of -0 (Python's json reads the JSON number -0 as int 0)"""
    return json.load(f, parse_int=lambda t: -0.0 if t == "-0" else int(t))


def run(args):
    binary = os.path.abspath(args.bin)
    tmp = tempfile.mkdtemp(prefix="crosscheck.")
    total = Result()
    passed = failed = 0
    try:
        for i in range(args.n):
            seed = args.seed * 1000003 + i
            m = gen_models.generate(seed, special=True)
            path = os.path.join(tmp, f"m{i}.grad")
            with open(path, "w", newline="") as f:
                f.write(m.text)
            out = os.path.join(tmp, f"o{i}")
            p = subprocess.run([binary, "-q", "-f", "json", "-o", out, path], capture_output=True, text=True)
            before = len(total.fails)
            if p.returncode != 0:
                total.fail(f"gradviz exit {p.returncode}: {p.stderr.strip()[:500]}")
            else:
                with open(os.path.join(out, f"m{i}.json")) as f:
                    trace = load_trace(f)
                try:
                    check_model(m, trace, total, args.verbose)
                except Exception as e:  # a checker error is a failure to look at, not a crash
                    import traceback
                    total.fail(f"checker error: {e!r}\n{traceback.format_exc()}")
            if len(total.fails) > before:
                failed += 1
                print(f"not ok - model {i} (seed {seed}): {total.fails[before].splitlines()[0]}")
                if args.verbose:
                    for msg in total.fails[before:]:
                        print("    " + msg.replace("\n", "\n    "))
                    print("    model:\n      " + m.text.replace("\r", "").replace("\n", "\n      "))
                if args.keep:
                    os.makedirs(args.keep, exist_ok=True)
                    shutil.copy(path, os.path.join(args.keep, f"fail-{seed}.grad"))
            else:
                passed += 1
            shutil.rmtree(out, ignore_errors=True)
            os.unlink(path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    kinds = sorted(total.count)
    print("comparisons: " + ", ".join(f"{k} {total.count[k]}" for k in kinds))
    if total.unchecked:
        print("unchecked (branch decided within rounding): "
              + ", ".join(f"{k} {v}" for k, v in sorted(total.unchecked.items())))
    for cls, c in sorted(total.notes.items()):
        print(f"difference {cls}: {c}x, e.g.")
        for ex in total.note_examples[cls].values():
            print(f"    {ex}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=300, help="number of random models (default 300)")
    ap.add_argument("--seed", type=int, default=1, help="seed (default 1)")
    ap.add_argument("--bin", default="build/rel/gradviz")
    ap.add_argument("--keep", help="copy failing models into this directory")
    ap.add_argument("-v", "--verbose", action="store_true")
    sys.exit(run(ap.parse_args()))


if __name__ == "__main__":
    main()
