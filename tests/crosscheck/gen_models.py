"""Random .grad model generator for the torch cross-check (tests/crosscheck/crosscheck.py).

Models follow the grammar of SPEC §2 and are built as ASTs first; the text is printed from the
AST (minimal parentheses by precedence, plus random redundant ones) and parsed back with an
independent parser written here from the grammar, which must give the same AST. The checker
evaluates the AST with torch; it never reads gradviz's parse.

AST nodes (tuples):
    ('num', text)                 a NUMBER token (value float(text), never negative)
    ('ref', name)                 a name
    ('op', op, (args...), form)   op in add sub mul div neg pow sin ... max min;
                                  form 'infix' (a+b, a^b), 'prefix' (-a) or 'call' (f(a, b))

What is exercised: every operator and function, unary minus (-x^2, 2^-1, a--b, a*-b), right-
associative ^ and left-associative - and /, numbers in every lexical form of SPEC §2 (3, 3., 0.5,
.5, 1e-3, 1E+3, 2.5e2, 007), names that are not keywords although they look like ones (e, inf,
nan, Sin, model_, input2), fan-out and reuse of names, several outputs (output/loss markers,
or none), comments, tabs, blank lines and CRLF, and values near the edges of each domain: zeros
and exact cancellations (x - x) for relu/abs/sqrt/log/pow, ties for max/min, huge arguments for
exp/sigmoid/tanh/softplus, negative bases, divisions by tiny values, denormals.

    python3 gen_models.py SEED [COUNT]     prints COUNT models (separated by lines of '=')
"""
import random
import re
import sys
from decimal import Decimal

UNARY_FUNCS = ["sin", "cos", "tan", "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "abs", "softplus"]
BINARY_FUNCS = ["pow", "max", "min"]
INFIX = {"add": "+", "sub": "-", "mul": "*", "div": "/"}
KEYWORDS = {"model", "input", "param", "const", "output", "loss"}
RESERVED = KEYWORDS | set(UNARY_FUNCS) | set(BINARY_FUNCS)
# ordinary names, some of them look like keywords, functions or numbers
TRICKY_NAMES = ["e", "inf", "nan", "E", "Sin", "EXP", "model_", "input2", "loss_", "_", "_t", "x_1",
                "maxv", "pow2", "logx", "e1", "inf_", "NaN", "Inf", "relu_", "sigmoid0", "tanh_"]

# ---------------------------------------------------------------------------------------------
# numbers


def number_text(rng, dec):
    """A NUMBER token for the non-negative decimal `dec` (a Decimal), in a random lexical form
    of SPEC §2; float() of every form is the same double (each is the same rational)."""
    sign, digits, exp = dec.normalize().as_tuple()
    assert sign == 0
    digits = "".join(map(str, digits)) or "0"
    if digits == "0":
        return rng.choice(["0", "0.0", ".0", "0.", "00", "0e0", "0E+5", ".0e-3", "0.000"])
    # value = int(digits) * 10^exp; choose where the decimal point goes: k digits after it,
    # then an exponent makes up the difference
    n = len(digits)
    style = rng.random()
    if style < 0.35 and -12 <= exp <= 6:  # plain, no exponent
        if exp >= 0:
            s = digits + "0" * exp
            return rng.choice([s, s + ".", s + ".0", "0" + s])
        k = -exp
        s = digits.rjust(k + 1, "0")
        intpart, frac = s[:-k], s[-k:]
        if intpart == "0" and rng.random() < 0.5:
            return "." + frac + rng.choice(["", "0"])
        return intpart + "." + frac
    k = rng.randint(0, n)  # digits after the point
    mant_int, mant_frac = digits[:n - k], digits[n - k:]
    e = exp + k
    if mant_int == "":
        mant = "." + mant_frac if rng.random() < 0.6 else "0." + mant_frac
    elif mant_frac == "":
        mant = mant_int + rng.choice(["", ".", ".0"])
    else:
        mant = mant_int + "." + mant_frac
    echar = rng.choice("eE")
    esign = "-" if e < 0 else rng.choice(["", "+"])
    return f"{mant}{echar}{esign}{abs(e)}"


# leaf magnitudes: ordinary ones and edges of domains
SPECIAL_MAGS = ["0", "1", "2", "0.5", "3", "10", "1e-300", "1e-160", "1e-200", "3e-320", "1e-10",
                "40", "37", "20", "19.5", "710", "709.7", "750", "800", "1e3", "1e200", "1e154",
                "1e308", "1.7976931348623157e308", "1e-7", "2.5", "0.1", "100", "36.8"]


def random_mag(rng, special):
    if special and rng.random() < 0.45:
        return Decimal(rng.choice(SPECIAL_MAGS))
    r = rng.random()
    if r < 0.5:
        return Decimal(f"{rng.uniform(0, 3):.{rng.randint(1, 17)}g}")
    if r < 0.7:
        return Decimal(rng.randint(0, 5))
    if r < 0.85:
        return Decimal(f"{rng.choice([1, 2, 5, 1.5, 7.25])}e{rng.randint(-8, 4)}")
    return Decimal(f"{10 ** rng.uniform(-3, 2):.6g}")


# ---------------------------------------------------------------------------------------------
# models


class Model:
    def __init__(self):
        self.title = None
        self.leaves = []        # (kind, name, negative, text)
        self.stmts = []         # (marker or None, name, ast)
        self.text = ""

    def leaf_value(self, i):
        kind, name, neg, text = self.leaves[i]
        v = float(text)
        return -v if neg else v


def node_ops(ast):
    """Is the expression a non-literal (does it mention a name)?"""
    if ast[0] == "num":
        return False
    if ast[0] == "ref":
        return True
    return any(node_ops(a) for a in ast[2])


class Gen:
    def __init__(self, rng, special=True):
        self.rng = rng
        self.special = special

    def name(self, used):
        rng = self.rng
        while True:
            if rng.random() < 0.25:
                n = rng.choice(TRICKY_NAMES)
            else:
                n = rng.choice("xywzabcuvhpq") + rng.choice(["", str(rng.randint(0, 99)), "_" + rng.choice("abc")])
            if n not in used and n not in RESERVED:
                used.add(n)
                return n

    def lit(self, mag=None):
        rng = self.rng
        if mag is None:
            r = rng.random()
            if r < 0.4:
                mag = Decimal(rng.choice(["0", "1", "2", "3", "0.5", "2.5", "-1", "10", "0.1", "1e-3"]).lstrip("-"))
            elif r < 0.5 and self.special:
                mag = Decimal(rng.choice(SPECIAL_MAGS))
            else:
                mag = random_mag(rng, False)
        t = ("num", number_text(rng, mag))
        if rng.random() < 0.25:
            t = ("op", "neg", (t,), "prefix")
        return t

    def expr(self, names, depth):
        """A random expression over `names` (at least one name is mentioned)."""
        rng = self.rng
        if depth <= 0 or rng.random() < 0.22:
            return ("ref", rng.choice(names))
        if self.special and rng.random() < 0.15:
            return self.trap(names, depth)
        r = rng.random()
        if r < 0.38:
            op = rng.choice(["add", "sub", "mul", "div"])
            a, b = self.operands(names, depth)
            return ("op", op, (a, b), "infix")
        if r < 0.48:
            return ("op", "neg", (self.expr(names, depth - 1),), "prefix")
        if r < 0.62:
            a, b = self.operands(names, depth, pow_=True)
            return ("op", "pow", (a, b), rng.choice(["infix", "infix", "call"]))
        if r < 0.72:
            a, b = self.operands(names, depth)
            return ("op", rng.choice(["max", "min"]), (a, b), "call")
        f = rng.choice(UNARY_FUNCS)
        return ("op", f, (self.expr(names, depth - 1),), "call")

    def operands(self, names, depth, pow_=False):
        """Two operands, at least one of them mentioning a name; sometimes a literal."""
        rng = self.rng
        r = rng.random()
        if pow_ and r < 0.45:  # x^literal: integer, half-integer, negative, zero, huge
            e = rng.choice(["2", "3", "0", "1", "0.5", "1.5", "2.5", "10", "-1", "-2", "-0.5", "0.25",
                            "1e-3", "7", "1000", "400", "-3", "1.000000001"])
            lit = ("num", number_text(rng, Decimal(e.lstrip("-"))))
            if e.startswith("-") or rng.random() < 0.1:
                lit = ("op", "neg", (lit,), "prefix")
            if rng.random() < 0.1:  # 2^-1 style folded exponent: a literal expression
                lit = ("op", "pow", (("num", "2"), ("op", "neg", (("num", "1"),), "prefix")), "infix")
            return self.expr(names, depth - 1), lit
        if pow_ and r < 0.6:  # literal^x, including negative and zero bases
            b = rng.choice(["2", "0", "0.5", "10", "-2", "-0.5", "1", "2.718281828459045", "-1"])
            lit = ("num", number_text(rng, Decimal(b.lstrip("-"))))
            if b.startswith("-"):
                lit = ("op", "neg", (lit,), "prefix")  # printed (-2)^x; -2^x is -(2^x)
            return lit, self.expr(names, depth - 1)
        if r < 0.75:
            a, b = self.expr(names, depth - 1), self.expr(names, depth - 1)
        elif r < 0.88:
            a, b = self.lit(), self.expr(names, depth - 1)
        else:
            a, b = self.expr(names, depth - 1), self.lit()
        return a, b

    def trap(self, names, depth):
        """Expressions at the edges: exact zeros, ties, overflow, negative bases, x/(x-x)..."""
        rng = self.rng
        x = ("ref", rng.choice(names))
        y = ("ref", rng.choice(names))
        zero = ("op", "sub", (x, x), "infix")
        num = lambda s: ("num", number_text(rng, Decimal(s)))  # noqa: E731
        neg = lambda a: ("op", "neg", (a,), "prefix")  # noqa: E731
        op = lambda o, *a: ("op", o, tuple(a), "infix" if o in INFIX or o == "pow" else "call")  # noqa: E731
        big = num(rng.choice(["1000", "800", "710", "40", "30", "750", "1e300", "36.5", "20.5"]))
        choices = [
            lambda: op(rng.choice(["relu", "abs", "sqrt", "log", "exp", "sigmoid", "tanh", "softplus",
                                   "sin", "cos", "tan"]), zero),
            lambda: op("pow", zero, rng.choice([num("0"), num("2"), num("0.5"), num("1"), neg(num("1")),
                                                neg(num("0.5")), y])),
            lambda: op("pow", neg(x), rng.choice([num("2"), num("3"), num("2.5"), num("0.5"), y])),
            lambda: ("op", "pow", (op("max", neg(x), zero), y), "call"),
            lambda: op(rng.choice(["max", "min"]), x, x),
            lambda: op(rng.choice(["max", "min"]), x, op("mul", x, num("1"))),
            lambda: op(rng.choice(["max", "min"]), zero, neg(zero)),
            lambda: op(rng.choice(["max", "min"]), x, y),
            lambda: op("div", x, zero),
            lambda: op("div", zero, zero),
            lambda: op("div", x, op("mul", y, num(rng.choice(["1e-300", "1e-160", "1e-200", "1e300"])))),
            lambda: op("div", num("1"), op("mul", x, num(rng.choice(["1e-170", "1e170", "1e-310"])))),
            lambda: op(rng.choice(["exp", "sigmoid", "tanh", "softplus"]), op("mul", x, big)),
            lambda: op(rng.choice(["exp", "sigmoid", "tanh", "softplus"]), neg(op("mul", x, big))),
            lambda: op(rng.choice(["sigmoid", "tanh", "softplus", "exp"]), op("add", x, rng.choice([big, neg(big)]))),
            lambda: op("log", op(rng.choice(["sigmoid", "exp", "softplus", "tanh"]), op("mul", x, big))),
            lambda: neg(op("pow", x, num("2"))),                        # -x^2
            lambda: op("pow", x, neg(op("pow", y, num("2")))),           # x^-y^2
            lambda: op("pow", x, op("pow", y, num("0.5"))),              # x^y^0.5 (right assoc)
            lambda: op("pow", num("2"), neg(x)),                         # 2^-x
            lambda: neg(op("pow", num("2"), x)),                         # -2^x is -(2^x)
            lambda: op("sub", x, neg(y)),                                # x--y
            lambda: op("mul", x, neg(y)),                                # x*-y
            lambda: op("sub", x, op("sub", y, x)),                       # x-(y-x)
            lambda: op("div", x, op("div", y, x)),                       # x/(y/x)
            lambda: op("pow", op("pow", x, num("2")), num("3")),         # (x^2)^3
        ]
        return rng.choice(choices)()

    def model(self):
        rng = self.rng
        m = Model()
        used = set()
        if rng.random() < 0.5:
            m.title = rng.choice(["random", "cross-check model", "αβγ — UTF-8 title", "", "x^2 # not a comment"])
        nleaves = rng.randint(1, 5)
        kinds = ["input", "param", "const"]
        for i in range(nleaves):
            kind = "input" if i == 0 else rng.choices(kinds, [4, 3, 2])[0]
            name = self.name(used)
            neg = rng.random() < 0.35
            if i > 0 and rng.random() < 0.12:  # same value as an earlier leaf: ties
                _, _, neg, text = m.leaves[rng.randrange(i)]
                text = number_text(rng, Decimal(text))
            else:
                text = number_text(rng, random_mag(rng, self.special))
            m.leaves.append((kind, name, neg, text))
        names = [l[1] for l in m.leaves]
        nstmts = rng.randint(1, 7)
        for i in range(nstmts):
            depth = rng.randint(1, 4)
            while True:
                ast = self.expr(names, depth)
                if ast[0] == "op" and node_ops(ast):
                    break
            name = self.name(used)
            m.stmts.append([None, name, ast])
            names.append(name)
            if rng.random() < 0.5:  # prefer reusing recent names: fan-out
                names.extend([name] * rng.randint(1, 2))
        # markers: none (the last statement is the output), or 1..3 marked outputs in any order
        if rng.random() < 0.8:
            k = rng.randint(1, min(3, nstmts))
            for i in rng.sample(range(nstmts), k):
                m.stmts[i][0] = rng.choice(["output", "loss"])
        m.text = render(rng, m)
        return m


# ---------------------------------------------------------------------------------------------
# printing

PREC = {"add": 1, "sub": 1, "mul": 2, "div": 2, "neg": 3}


def prec(ast):
    if ast[0] != "op":
        return 5
    op, form = ast[1], ast[3]
    if form == "call":
        return 5
    if op == "pow":
        return 4
    return PREC[op]


def show(rng, ast, minprec, toks):
    """Appends the tokens of ast to toks, in parentheses when its precedence is below minprec
    (and now and then when not: redundant parentheses are harmless)."""
    paren = prec(ast) < minprec or rng.random() < 0.06
    if paren:
        toks.append("(")
    kind = ast[0]
    if kind in ("num", "ref"):
        toks.append(ast[1])
    else:
        op, args, form = ast[1], ast[2], ast[3]
        if form == "call":
            toks += [op, "("]
            for i, a in enumerate(args):
                if i:
                    toks.append(",")
                show(rng, a, 0, toks)
            toks.append(")")
        elif op == "neg":
            toks.append("-")
            show(rng, args[0], 3, toks)
        elif op == "pow":
            show(rng, args[0], 5, toks)
            toks.append("^")
            show(rng, args[1], 3, toks)
        else:
            p = PREC[op]
            show(rng, args[0], p, toks)
            toks.append(INFIX[op])
            show(rng, args[1], p + 1, toks)
    if paren:
        toks.append(")")


def ws(rng):
    return rng.choice(["", "", " ", " ", "  ", "\t", " \t"])


def join_tokens(rng, toks):
    out = ""
    for t in toks:
        if out and (out[-1].isalnum() or out[-1] in "._") and (t[0].isalnum() or t[0] in "._"):
            out += " "  # keep two words or numbers apart
        out += t + ws(rng)
    return out.rstrip(" \t") if rng.random() < 0.5 else out


def render(rng, m):
    lines = []
    comment = lambda: rng.choice(["", "", "", "  # a comment", "\t#c", " # y = x ^ 2 (not code)", "#"])  # noqa: E731
    if rng.random() < 0.3:
        lines.append("# generated by tests/crosscheck/gen_models.py")
    if m.title is not None:
        lines.append(ws(rng) + f'model "{m.title}"' + comment())
    for kind, name, neg, text in m.leaves:
        lines.append(ws(rng) + f"{kind}{rng.choice([' ', '  ', chr(9)])}{name}{ws(rng)}={ws(rng)}"
                     + ("-" + ws(rng) if neg else "") + text + comment())
        if rng.random() < 0.15:
            lines.append(rng.choice(["", "   ", "# blank above", "\t"]))
    for marker, name, ast in m.stmts:
        toks = []
        show(rng, ast, 0, toks)
        head = (marker + rng.choice([" ", "\t "]) if marker else "") + name
        lines.append(ws(rng) + head + ws(rng) + "=" + ws(rng) + join_tokens(rng, toks) + comment())
    eol = "\r\n" if rng.random() < 0.15 else "\n"
    return eol.join(lines) + (eol if rng.random() < 0.9 else "")


# ---------------------------------------------------------------------------------------------
# an independent parser of the printed text (SPEC §2 grammar), to prove the printer right

TOKEN = re.compile(r"[ \t]+|#[^\r\n]*|(?P<num>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
                   r"|(?P<id>[A-Za-z_][A-Za-z0-9_]*)|(?P<str>\"[^\"\r\n]*\")|(?P<p>[-+*/^(),=])")


def tokenize(line):
    toks, pos = [], 0
    while pos < len(line):
        mt = TOKEN.match(line, pos)
        if not mt:
            raise SyntaxError(f"bad character at {pos}: {line!r}")
        pos = mt.end()
        for k in ("num", "id", "str", "p"):
            if mt.group(k) is not None:
                toks.append((k, mt.group(k)))
    return toks


class Parser:
    def __init__(self, toks):
        self.t, self.i = toks, 0

    def peek(self, k=0):
        return self.t[self.i + k] if self.i + k < len(self.t) else ("eof", "")

    def take(self, val=None):
        tok = self.peek()
        if val is not None and tok[1] != val:
            raise SyntaxError(f"expected {val}, got {tok}")
        self.i += 1
        return tok

    def expr(self):
        a = self.term()
        while self.peek()[1] in ("+", "-"):
            op = {"+": "add", "-": "sub"}[self.take()[1]]
            a = ("op", op, (a, self.term()), "infix")
        return a

    def term(self):
        a = self.unary()
        while self.peek()[1] in ("*", "/"):
            op = {"*": "mul", "/": "div"}[self.take()[1]]
            a = ("op", op, (a, self.unary()), "infix")
        return a

    def unary(self):
        if self.peek()[1] == "-":
            self.take()
            return ("op", "neg", (self.unary(),), "prefix")
        return self.power()

    def power(self):
        a = self.primary()
        if self.peek()[1] == "^":
            self.take()
            return ("op", "pow", (a, self.unary()), "infix")
        return a

    def primary(self):
        k, v = self.take()
        if k == "num":
            return ("num", v)
        if k == "id":
            if self.peek()[1] == "(":
                self.take("(")
                args = [self.expr()]
                while self.peek()[1] == ",":
                    self.take()
                    args.append(self.expr())
                self.take(")")
                return ("op", v, tuple(args), "call")
            return ("ref", v)
        if v == "(":
            a = self.expr()
            self.take(")")
            return a
        raise SyntaxError(f"unexpected {v!r}")


def parse_model(text):
    """(leaves [(kind, name, negative, text)], stmts [(marker, name, ast)], title)"""
    leaves, stmts, title = [], [], None
    for line in re.split(r"\r?\n", text):
        toks = tokenize(line)
        if not toks:
            continue
        if toks[0][1] == "model":
            title = toks[1][1][1:-1]
        elif toks[0][1] in ("input", "param", "const"):
            neg = toks[3][1] == "-"
            leaves.append((toks[0][1], toks[1][1], neg, toks[-1][1]))
        else:
            marker = toks[0][1] if toks[0][1] in ("output", "loss") else None
            if marker:
                toks = toks[1:]
            p = Parser(toks[2:])
            ast = p.expr()
            if p.i != len(p.t):
                raise SyntaxError(f"trailing tokens in {line!r}")
            stmts.append((marker, toks[0][1], ast))
    return leaves, stmts, title


def generate(seed, special=True):
    rng = random.Random(seed)
    m = Gen(rng, special).model()
    leaves, stmts, title = parse_model(m.text)
    assert leaves == m.leaves, (leaves, m.leaves)
    assert [tuple(s) for s in m.stmts] == stmts, (m.text, stmts, m.stmts)
    assert title == m.title
    return m


if __name__ == "__main__":
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    for i in range(count):
        if i:
            print("=" * 40)
        sys.stdout.write(generate(seed * 100003 + i).text)
