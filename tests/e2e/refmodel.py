"""An independent reference implementation of the .grad language (SPEC §2) for the tests: a
tokenizer, a recursive-descent parser into expression trees, a forward evaluator and a
reverse-mode backward pass, all written from the spec in plain Python. It shares no code and no
numbers with gradviz, so gradviz's values and gradients can be checked against it.

    m = parse(text)          # Model: leaves, assignments (in file order), outputs
    vals = m.values()        # name -> value, overrides={name: value} to replace leaves
    grads = m.grads()        # name -> dprimary/dname for every leaf and named node
"""
import math
import re

TOKEN = re.compile(r"""
    (?P<ws>[ \t]+)
  | (?P<comment>\#[^\n]*)
  | (?P<nl>\r?\n)
  | (?P<num>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<str>"[^"\n]*")
  | (?P<op>[-+*/^(),=])
""", re.VERBOSE)

KEYWORDS = {"model", "input", "param", "const", "output", "loss"}
UNARY = {"sin", "cos", "tan", "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "abs", "softplus"}
BINARY = {"pow", "max", "min"}


def _sigmoid(a):
    if a >= 0:
        return 1.0 / (1.0 + math.exp(-a))
    e = math.exp(a)
    return e / (1.0 + e)


def _softplus(a):
    return max(a, 0.0) + math.log1p(math.exp(-abs(a)))


def _pow(a, b):
    try:
        return math.pow(a, b)
    except (ValueError, OverflowError):
        return math.nan


def _log(a):
    if a == 0:
        return -math.inf
    try:
        return math.log(a)
    except ValueError:
        return math.nan


def _exp(a):
    try:
        return math.exp(a)
    except OverflowError:
        return math.inf


def _div(a, b):
    if b == 0:
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


FORWARD = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b, "div": _div,
    "neg": lambda a: -a, "pow": _pow, "sin": math.sin, "cos": math.cos, "tan": math.tan, "exp": _exp,
    "log": _log, "sqrt": lambda a: math.sqrt(a) if a >= 0 else math.nan, "tanh": math.tanh,
    "sigmoid": _sigmoid, "relu": lambda a: a if a > 0 else 0.0, "abs": abs, "softplus": _softplus,
    "max": max, "min": min,
}


def local(op, a, b=None):
    """The local derivatives of op at its operands, written from SPEC §2's rule list."""
    if op == "add":
        return (1.0, 1.0)
    if op == "sub":
        return (1.0, -1.0)
    if op == "mul":
        return (b, a)
    if op == "div":
        return (_div(1.0, b), _div(-a, b * b))
    if op == "neg":
        return (-1.0,)
    if op == "pow":
        return (b * _pow(a, b - 1), _pow(a, b) * (_log(a) if a > 0 else math.nan))
    if op == "sin":
        return (math.cos(a),)
    if op == "cos":
        return (-math.sin(a),)
    if op == "tan":
        return (1.0 + math.tan(a) ** 2,)
    if op == "exp":
        return (_exp(a),)
    if op == "log":
        return (_div(1.0, a),)
    if op == "sqrt":
        return (_div(1.0, 2.0 * math.sqrt(a)) if a >= 0 else math.nan,)
    if op == "tanh":
        return (1.0 - math.tanh(a) ** 2,)
    if op == "sigmoid":
        s = _sigmoid(a)
        return (s * (1.0 - s),)
    if op == "relu":
        return (1.0 if a > 0 else 0.0,)
    if op == "abs":
        return (0.0 if a == 0 else math.copysign(1.0, a),)
    if op == "softplus":
        return (_sigmoid(a),)
    if op == "max":
        return (1.0, 0.0) if a >= b else (0.0, 1.0)
    if op == "min":
        return (1.0, 0.0) if a <= b else (0.0, 1.0)
    raise ValueError(op)


class ParseError(Exception):
    pass


class Model:
    def __init__(self):
        self.title = None
        self.leaves = {}        # name -> (kind, value), in file order
        self.assigns = []       # (name, tree), in file order
        self.outputs = []       # marked outputs in file order; else [last assignment]

    @property
    def primary(self):
        return self.outputs[0]

    def values(self, overrides=None):
        env = {n: v for n, (_, v) in self.leaves.items()}
        env.update(overrides or {})
        for name, tree in self.assigns:
            env[name] = _eval(tree, env)
        return env

    def grads(self, overrides=None):
        """d(primary)/d(name) for every name; const leaves included (the tests ignore them)."""
        env = self.values(overrides)
        adj = {n: 0.0 for n in env}
        adj[self.primary] = 1.0
        idx = [n for n, _ in self.assigns].index(self.primary)
        # names are defined before use, so reverse file order is a reverse topological order
        for name, tree in reversed(self.assigns[:idx + 1]):
            _backprop(tree, env, adj[name], adj)
        return adj


def _eval(tree, env):
    kind = tree[0]
    if kind == "num":
        return tree[1]
    if kind == "var":
        return env[tree[1]]
    return FORWARD[tree[1]](*[_eval(t, env) for t in tree[2]])


def _backprop(tree, env, g, adj):
    kind = tree[0]
    if kind == "num":
        return
    if kind == "var":
        adj[tree[1]] += g
        return
    args = [_eval(t, env) for t in tree[2]]
    for t, d in zip(tree[2], local(tree[1], *args)):
        if t[0] != "num":
            _backprop(t, env, g * d, adj)


def _fold(tree):
    """All-literal operations become literals, as in the language."""
    if tree[0] == "op" and all(t[0] == "num" for t in tree[2]):
        return ("num", FORWARD[tree[1]](*[t[1] for t in tree[2]]))
    return tree


class _Parser:
    def __init__(self, toks):
        self.toks = toks
        self.i = 0

    def peek(self, k=0):
        return self.toks[self.i + k] if self.i + k < len(self.toks) else ("eol", "")

    def take(self, kind=None, text=None):
        t = self.peek()
        if (kind and t[0] != kind) or (text and t[1] != text):
            raise ParseError(f"expected {kind or text}, got {t}")
        self.i += 1
        return t

    # expr := term { ('+' | '-') term }
    def expr(self):
        v = self.term()
        while self.peek()[1] in ("+", "-") and self.peek()[0] == "op":
            op = "add" if self.take()[1] == "+" else "sub"
            v = _fold(("op", op, [v, self.term()]))
        return v

    # term := unary { ('*' | '/') unary }
    def term(self):
        v = self.unary()
        while self.peek()[1] in ("*", "/") and self.peek()[0] == "op":
            op = "mul" if self.take()[1] == "*" else "div"
            v = _fold(("op", op, [v, self.unary()]))
        return v

    # unary := '-' unary | power
    def unary(self):
        if self.peek() == ("op", "-"):
            self.take()
            return _fold(("op", "neg", [self.unary()]))
        return self.power()

    # power := primary [ '^' unary ]
    def power(self):
        v = self.primary()
        if self.peek() == ("op", "^"):
            self.take()
            return _fold(("op", "pow", [v, self.unary()]))
        return v

    def primary(self):
        t = self.take()
        if t[0] == "num":
            return ("num", float(t[1]))
        if t[0] == "ident":
            if self.peek() == ("op", "("):
                self.take()
                args = [self.expr()]
                while self.peek() == ("op", ","):
                    self.take()
                    args.append(self.expr())
                self.take("op", ")")
                if t[1] not in UNARY | BINARY:
                    raise ParseError(f"unknown function {t[1]}")
                return _fold(("op", t[1], args))
            return ("var", t[1])
        if t == ("op", "("):
            v = self.expr()
            self.take("op", ")")
            return v
        raise ParseError(f"unexpected {t}")


def tokenize_line(line):
    toks, pos = [], 0
    while pos < len(line):
        m = TOKEN.match(line, pos)
        if not m:
            raise ParseError(f"bad character at {pos}: {line!r}")
        pos = m.end()
        kind = m.lastgroup
        if kind in ("ws", "comment", "nl"):
            continue
        if kind == "ident" and m.group() in KEYWORDS:
            kind = "kw"
        toks.append((kind, m.group()))
    return toks


def parse(text):
    m = Model()
    for line in text.splitlines():
        toks = tokenize_line(line)
        if not toks:
            continue
        if toks[0] == ("kw", "model"):
            m.title = toks[1][1][1:-1]
            continue
        if toks[0][0] == "kw" and toks[0][1] in ("input", "param", "const"):
            sign = -1.0 if toks[3] == ("op", "-") else 1.0
            m.leaves[toks[1][1]] = (toks[0][1], sign * float(toks[-1][1]))
            continue
        marked = toks[0][0] == "kw"
        if marked:
            toks = toks[1:]
        name = toks[0][1]
        p = _Parser(toks[2:])
        tree = p.expr()
        if p.i != len(p.toks):
            raise ParseError(f"trailing tokens in {line!r}")
        m.assigns.append((name, tree))
        if marked:
            m.outputs.append(name)
    if not m.outputs:
        m.outputs.append(m.assigns[-1][0])
    return m


def count_ops(tree):
    """Op nodes the tree becomes (after folding): for checking the graph's size."""
    if tree[0] != "op":
        return 0
    return 1 + sum(count_ops(t) for t in tree[2])
