"""The trace invariants of SPEC §4, checked in Python on a parsed trace document. Each check
returns a list of problems (empty when it holds), so a test prints one ok/not ok line per
invariant and shows the first problems on failure.

Non-finite numbers are read back from their markers (null + "nan"/"inf"/"-inf"), so the same
checks run on traces with NaN and infinities: IEEE arithmetic in Python gives the same
non-finite results as in C.
"""
import math

MARK = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def num(obj, key, marker):
    """obj[key] as a float, reading a null through its marker; None for a null without one."""
    v = obj.get(key)
    if v is None:
        m = obj.get(marker)
        return MARK[m] if m in MARK else None
    return float(v)


def same(a, b):
    """Exactly the same double (NaN equals NaN; 0 equals -0, which JSON may not keep)."""
    if a is None or b is None:
        return a is b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b


def near(a, b, rel=1e-12, abs_=1e-300):
    if a is None or b is None:
        return a is b
    if not (math.isfinite(a) and math.isfinite(b)):
        return same(a, b)
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


class View:
    """Index of a trace: node/edge lookups, in- and out-edges, reachability."""

    def __init__(self, doc):
        self.doc = doc
        self.nodes = doc["nodes"]
        self.edges = doc["edges"]
        self.primary = doc["outputs"][0]
        self.out = {n["id"]: [] for n in self.nodes}
        self.inn = {n["id"]: [] for n in self.nodes}
        for e in self.edges:
            self.out.setdefault(e["from"], []).append(e["id"])
            self.inn.setdefault(e["to"], []).append(e["id"])
        # nodes from which the primary output is reachable: walk the edges backwards
        self.reach = {self.primary}
        todo = [self.primary]
        while todo:
            n = todo.pop()
            for e in self.inn.get(n, []):
                f = self.edges[e]["from"]
                if f not in self.reach:
                    self.reach.add(f)
                    todo.append(f)

    def value(self, n):
        return num(self.nodes[n], "value", "nonfinite")

    def grad(self, n):
        return num(self.nodes[n], "grad", "grad_nonfinite")

    def kind(self, n):
        return self.nodes[n]["kind"]


def check_ids(v):
    p = [f"nodes[{i}].id = {n['id']}" for i, n in enumerate(v.nodes) if n["id"] != i]
    p += [f"edges[{i}].id = {e['id']}" for i, e in enumerate(v.edges) if e["id"] != i]
    n = len(v.nodes)
    p += [f"edge {e['id']} refers to a missing node" for e in v.edges if not (0 <= e["from"] < n and 0 <= e["to"] < n)]
    p += [f"output {o} is not an op node" for o in v.doc["outputs"] if not (0 <= o < n and v.kind(o) == "op")]
    return p


def check_slots(v):
    """slot indexes the consumer's args, literals included; one edge per node operand."""
    p = []
    seen = set()
    for e in v.edges:
        to = v.nodes[e["to"]]
        args = to.get("args", [])
        if to["kind"] != "op" or not (0 <= e["slot"] < len(args)):
            p.append(f"edge {e['id']}: slot {e['slot']} outside the args of node {e['to']}")
            continue
        if args[e["slot"]] != {"node": e["from"]}:
            p.append(f"edge {e['id']}: args[{e['slot']}] of node {e['to']} is {args[e['slot']]}, not node {e['from']}")
        seen.add((e["to"], e["slot"]))
    for n in v.nodes:
        for i, a in enumerate(n.get("args", [])):
            if "node" in a and (n["id"], i) not in seen:
                p.append(f"node {n['id']} arg {i} ({a}) has no edge")
    return p


def check_edge_values(v):
    p = []
    for e in v.edges:
        ev = num(e, "value", "value_nonfinite")
        if not same(ev, v.value(e["from"])):
            p.append(f"edge {e['id']}: value {ev} != value of node {e['from']} ({v.value(e['from'])})")
    return p


def switched_off(v, e):
    """True when the edge's operand is switched off by a branch of its consumer (relu at
    a <= 0, the operand max/min did not select: on a tie the first is selected, and a NaN
    operand is the one selected; pow's d/da at b = 0 and d/db at a = 0 with b >= 0): its
    local derivative is 0 whatever the values downstream, so it passes on exactly 0."""
    n = v.nodes[e["to"]]
    a = [v.value(x["node"]) if "node" in x else float(x["const"]) for x in n["args"]]
    op, s = n["op"], e["slot"]
    if op == "relu":
        return a[0] <= 0
    if op in ("max", "min"):
        if math.isnan(a[0]) or math.isnan(a[1]):
            first = math.isnan(a[0])
        else:
            first = a[0] >= a[1] if op == "max" else a[0] <= a[1]
        return first != (s == 0)
    if op == "pow":
        return a[1] == 0 if s == 0 else a[0] == 0 and a[1] >= 0
    return False


def check_edge_grads(v):
    """edge grad = grad(to) * local, exactly (both are one IEEE multiplication); null from const.
    An edge switched off by a branch passes on 0 even from an infinite or NaN gradient (as
    PyTorch and JAX do), where the product would be NaN."""
    p = []
    for e in v.edges:
        g = num(e, "grad", "grad_nonfinite")
        if v.kind(e["from"]) == "const":
            if e["grad"] is not None or "grad_nonfinite" in e:
                p.append(f"edge {e['id']} from a const node has grad {e['grad']}")
            continue
        loc = num(e, "local", "local_nonfinite")
        want = v.grad(e["to"]) * loc if e["to"] in v.reach else 0.0
        if loc == 0 and math.isnan(want) and switched_off(v, e):
            want = 0.0
        if loc is None or not same(g, want):
            p.append(f"edge {e['id']}: grad {g} != grad({e['to']}) {v.grad(e['to'])} * local {loc} = {want}")
    return p


def check_node_grads(v):
    """node grad: 1 for the primary, null for const, else the sum of its out-edges' grads
    (0 when the primary is unreachable)."""
    p = []
    for n in v.nodes:
        i = n["id"]
        g = v.grad(i)
        if n["kind"] == "const":
            if n["grad"] is not None or "grad_nonfinite" in n:
                p.append(f"const node {i} has grad {n['grad']}")
            continue
        if i == v.primary:
            if g != 1.0:
                p.append(f"primary output {i} has grad {g}")
            continue
        terms = [num(v.edges[e], "grad", "grad_nonfinite") for e in v.out[i]]
        if i not in v.reach:
            if g != 0.0:
                p.append(f"node {i} cannot reach the primary output but has grad {g}")
            continue
        if any(t is None for t in terms):
            p.append(f"node {i}: an out-edge has no grad")
            continue
        if not near(g, math.fsum(terms) if all(math.isfinite(t) for t in terms) else sum(terms), rel=1e-9, abs_=1e-15):
            p.append(f"node {i}: grad {g} != sum of out-edge grads {terms}")
    return p


def check_forward(v):
    """every op node once, in increasing id order (a topological order), step from 0."""
    p = []
    fw = v.doc["forward"]
    ops = [n["id"] for n in v.nodes if n["kind"] == "op"]
    got = [s["node"] for s in fw]
    if got != ops:
        p.append(f"forward lists {got[:20]}..., want the op nodes in id order {ops[:20]}...")
    for k, s in enumerate(fw):
        if s["step"] != k:
            p.append(f"forward[{k}].step = {s['step']}")
        if 0 <= s["node"] < len(v.nodes) and not same(num(s, "value", "nonfinite"), v.value(s["node"])):
            p.append(f"forward[{k}] value differs from node {s['node']}")
    pos = {n: k for k, n in enumerate(got)}
    for e in v.edges:  # topological: an operand is evaluated before its consumer
        if v.kind(e["from"]) == "op" and pos.get(e["from"], 1 << 60) >= pos.get(e["to"], -1):
            p.append(f"edge {e['id']}: node {e['from']} is evaluated after its consumer {e['to']}")
    return p


def check_backward_order(v):
    """reachable op nodes, each once, primary first, strictly decreasing id."""
    p = []
    bw = v.doc["backward"]
    got = [s["node"] for s in bw]
    want = sorted((n for n in v.reach if v.kind(n) == "op"), reverse=True)
    if got != want:
        p.append(f"backward visits {got[:20]}, want {want[:20]}")
    if got and got[0] != v.primary:
        p.append(f"backward starts at {got[0]}, not the primary output {v.primary}")
    for k, s in enumerate(bw):
        if s["step"] != k:
            p.append(f"backward[{k}].step = {s['step']}")
    pos = {n: k for k, n in enumerate(got)}
    for e in v.edges:  # reverse topological: a consumer is done before its operand
        if e["from"] in pos and e["to"] in pos and pos[e["to"]] >= pos[e["from"]]:
            p.append(f"edge {e['id']}: node {e['from']} is visited before its consumer {e['to']}")
    return p


def check_backward_steps(v):
    """each step: the node's completed grad, its in-edges in slot order with the edge's local
    and grad, and accum = the operand's running sum (exact: same additions in the same order)."""
    p = []
    running = {}
    for k, s in enumerate(v.doc["backward"]):
        n = s["node"]
        if not same(num(s, "grad", "grad_nonfinite"), v.grad(n)):
            p.append(f"backward[{k}]: grad {s['grad']} != grad of node {n}")
        want = [e for e in sorted(v.inn.get(n, []), key=lambda e: v.edges[e]["slot"])]
        got = [r["edge"] for r in s["edges"]]
        if got != want:
            p.append(f"backward[{k}] (node {n}): edges {got}, want in-edges in slot order {want}")
            continue
        for r in s["edges"]:
            e = v.edges[r["edge"]]
            if not same(num(r, "local", "local_nonfinite"), num(e, "local", "local_nonfinite")):
                p.append(f"backward[{k}] edge {r['edge']}: local differs from the edge record")
            if v.kind(e["from"]) == "const":
                if r["grad"] is not None or r["accum"] is not None:
                    p.append(f"backward[{k}] edge {r['edge']} from const: grad/accum not null")
                continue
            g = num(r, "grad", "grad_nonfinite")
            if not same(g, num(e, "grad", "grad_nonfinite")):
                p.append(f"backward[{k}] edge {r['edge']}: grad differs from the edge record")
            running[e["from"]] = running.get(e["from"], 0.0) + (g if g is not None else math.nan)
            acc = num(r, "accum", "accum_nonfinite")
            if not same(acc, running[e["from"]]):
                p.append(f"backward[{k}] edge {r['edge']}: accum {acc} != running sum {running[e['from']]}")
    # the last accum of every node is its gradient
    for n, total in running.items():
        if n != v.primary and not same(total, v.grad(n)):
            p.append(f"node {n}: final running sum {total} != grad {v.grad(n)}")
    return p


def check_fanout(v):
    p = []
    want = sorted(n["id"] for n in v.nodes if n["kind"] != "const" and len(v.out[n["id"]]) >= 2)
    got = [f["node"] for f in v.doc["fanout"]]
    if sorted(got) != want or len(set(got)) != len(got):
        p.append(f"fanout lists {got}, want {want}")
    for f in v.doc["fanout"]:
        n = f["node"]
        if sorted(f["edges"]) != sorted(v.out.get(n, [])) or len(set(f["edges"])) != len(f["edges"]):
            p.append(f"fanout {n}: edges {f['edges']} != out-edges {v.out.get(n)}")
            continue
        if len(f["terms"]) != len(f["edges"]):
            p.append(f"fanout {n}: {len(f['terms'])} terms for {len(f['edges'])} edges")
            continue
        for e, t in zip(f["edges"], f["terms"]):
            eg = num(v.edges[e], "grad", "grad_nonfinite")
            tv = float(t) if t is not None else (eg if eg is not None and not math.isfinite(eg) else None)
            if not same(tv, eg):
                p.append(f"fanout {n}: term {t} != grad of edge {e} ({eg})")
        g = num(f, "grad", "grad_nonfinite")
        if not same(g, v.grad(n)):
            p.append(f"fanout {n}: grad {g} != node grad {v.grad(n)}")
        terms = [num(v.edges[e], "grad", "grad_nonfinite") for e in f["edges"]]
        if n != v.primary and None not in terms and all(math.isfinite(t) for t in terms) and g is not None:
            if not near(g, math.fsum(terms), rel=1e-9, abs_=1e-15):
                p.append(f"fanout {n}: grad {g} != sum of terms {math.fsum(terms)}")
    return p


CHECKS = [
    ("ids and references", check_ids),
    ("slot indexes args", check_slots),
    ("edge value = value(from)", check_edge_values),
    ("edge grad = grad(to) * local", check_edge_grads),
    ("node grad = sum of out-edge grads", check_node_grads),
    ("forward order", check_forward),
    ("backward order", check_backward_order),
    ("backward steps and accum", check_backward_steps),
    ("fanout", check_fanout),
]


def run_all(check, label, doc):
    """Prints one ok/not ok line per invariant through harness.check."""
    v = View(doc)
    for name, fn in CHECKS:
        try:
            probs = fn(v)
        except (KeyError, IndexError, TypeError) as e:
            probs = [f"malformed trace: {type(e).__name__}: {e}"]
        check(f"{label}: {name}", not probs, "\n".join(probs[:10]))
