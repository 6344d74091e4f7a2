"""The examples' values and gradients against closed-form derivatives written here by hand
(never copied from gradviz's output)."""
import math
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import check, close, trace, node_by_name  # noqa: E402

# h = sin(x^2) at x = 2: dh/dx = cos(x^2) * 2x
p, doc, _ = trace("examples/chain_rule.grad")
check("chain_rule runs", p.returncode == 0 and doc, p.stderr)
if doc:
    x = 2.0
    h = node_by_name(doc, "h")
    check("chain_rule h = sin(4)", close(h["value"], math.sin(4.0)), h)
    check("chain_rule dh/dx = 4 cos 4", close(node_by_name(doc, "x")["grad"], math.cos(x * x) * 2 * x),
          node_by_name(doc, "x"))
    check("chain_rule output is h", doc["outputs"] == [h["id"]])

# neuron: L = (sigmoid(w1 x1 + w2 x2) - t)^2
p, doc, _ = trace("examples/neuron.grad")
check("neuron runs", p.returncode == 0 and doc, p.stderr)
if doc:
    x1, x2, w1, w2, t = 0.5, 0.8, 0.3, -0.2, 0.7
    z = w1 * x1 + w2 * x2
    y = 1 / (1 + math.exp(-z))
    L = (y - t) ** 2
    dL_dy = 2 * (y - t)
    dL_dz = dL_dy * y * (1 - y)
    want = {"L": (L, 1.0), "y": (y, dL_dy), "z": (z, dL_dz), "w1": (w1, dL_dz * x1), "w2": (w2, dL_dz * x2),
            "x1": (x1, dL_dz * w1), "x2": (x2, dL_dz * w2)}
    for name, (v, g) in want.items():
        n = node_by_name(doc, name)
        check(f"neuron {name} value", close(n["value"], v), n)
        check(f"neuron {name} grad", close(n["grad"], g, rel=1e-12), f"{n} want {g}")
    check("neuron const target has no gradient", node_by_name(doc, "target")["grad"] is None)
    # the lecture's published numbers, to 4 digits
    check("neuron dL/dz = -0.1012 (lecture)", round(node_by_name(doc, "z")["grad"], 4) == -0.1012)
    check("neuron dL/dy = -0.4050 (lecture)", round(node_by_name(doc, "y")["grad"], 4) == -0.4050)

# fan-out: f = x*y + sin(x) + x*x; df/dx = y + cos(x) + 2x, df/dy = x
p, doc, _ = trace("examples/fanout.grad")
check("fanout runs", p.returncode == 0 and doc, p.stderr)
if doc:
    x, y = 1.5, -0.5
    xn = node_by_name(doc, "x")
    check("fanout f value", close(node_by_name(doc, "f")["value"], x * y + math.sin(x) + x * x))
    check("fanout df/dx = y + cos x + 2x", close(xn["grad"], y + math.cos(x) + 2 * x), xn)
    check("fanout df/dy = x", close(node_by_name(doc, "y")["grad"], x))
    fx = [f for f in doc["fanout"] if f["node"] == xn["id"]]
    check("fanout lists x with four paths", len(fx) == 1 and len(fx[0]["edges"]) == 4, doc["fanout"])
    if fx:
        terms = sorted(fx[0]["terms"])
        want = sorted([y, math.cos(x), x, x])
        check("fanout terms are y, cos x, x, x", all(close(a, b) for a, b in zip(terms, want)), terms)
        check("fanout sum of terms = grad", close(sum(fx[0]["terms"]), xn["grad"]))
