r"""A small, guarded evaluator for normalized LaTeX expressions: exact where it can be, 50 digits otherwise.

Every value is carried twice: ``q``, an exact ``Fraction`` while the expression stays rational, and
``z``, a 50-significant-digit complex ``mpmath`` number. Rational answers (``1/2^{99}``, ``1/2004!``,
``0.\overline{3}``) are therefore compared exactly, never rounded. Irrational closed forms (radicals, pi,
complex numbers) and expressions in variables (evaluated at fixed generic complex points) are compared
numerically, and that verdict is only trusted when the evaluation stayed *well conditioned*: every
inexact intermediate value lies in [1e-12, 1e12] in magnitude, so 50 digits leave 30 to spare against
cancellation. Anything else is handed to the SymPy fallback.

Magnitude guards run before each operation, so ``10^{10^{10^{10}}}``, ``10000!!`` or a 1,000-level
nesting raise ``TooBig`` in microseconds instead of hanging: such values are compared by text only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from math import factorial, isqrt

import mpmath

_CTX = mpmath.MPContext()
_CTX.dps = 50
MAX_EXACT_BITS = 200_000      # exact integers beyond this size stop being exact (2006! has ~19k bits)
MAX_LOG10 = 100_000           # |log10 value| beyond this is too big to compare meaningfully
MAX_FACTORIAL = 5_000
MAX_DEPTH = 60
MAX_TOKENS = 400
WELL_CONDITIONED = (1e-12, 1e12)

# Generic evaluation points for variables: a distinct irrational-looking complex number per letter,
# two independent sets (x and y never share a value, so ``x`` is never "equal" to ``y``).
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_POINTS = [
    {c: _CTX.mpc(_CTX.frac(_CTX.sqrt(k + 2) * _CTX.pi * (1 + s)) * 2 - 1, _CTX.frac(_CTX.cbrt(k + 7) * _CTX.e * (1 + s)) * 2 - 1)
     for k, c in enumerate(_LETTERS)}
    for s in (0, 1)
]
assert all(len({str(v) for v in point.values()}) == len(_LETTERS) for point in _POINTS)
N_POINTS = len(_POINTS)


class EvalError(ValueError):
    """The text is not an expression this evaluator understands (caller falls back)."""


class TooBig(EvalError):
    """A magnitude or size guard tripped: the value cannot be compared cheaply."""


@dataclass
class V:
    q: Fraction | None   # exact value, None once irrational / complex / symbolic
    z: object            # mpmath mpc
    inf: int = 0         # +1 / -1 for +-infinity


@dataclass
class Result:
    values: list[V]       # one per evaluation point (one when there are no variables)
    conditioned: bool
    has_vars: bool
    decimal_places: int | None  # set when the whole expression is a plain decimal literal
    significant: int = 0


_TOKEN = re.compile(
    r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+(?![a-zA-Z]))?)|(?P<cmd>\\[a-zA-Z]+)|(?P<op><=|>=|!=|[-+*/^()!{}\[\]|=<>,_'])|(?P<letter>[a-zA-Z]))"
)
_FUNCS = {
    "\\sin": _CTX.sin, "\\cos": _CTX.cos, "\\tan": _CTX.tan, "\\cot": _CTX.cot, "\\sec": _CTX.sec,
    "\\csc": _CTX.csc, "\\arcsin": _CTX.asin, "\\arccos": _CTX.acos, "\\arctan": _CTX.atan,
    "\\sinh": _CTX.sinh, "\\cosh": _CTX.cosh, "\\tanh": _CTX.tanh, "\\ln": _CTX.ln, "\\exp": _CTX.exp,
    "\\log": _CTX.ln,
}


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise EvalError(f"unexpected character {text[pos]!r}")
        kind = m.lastgroup
        tokens.append((kind, m.group(kind)))
        pos = m.end()
        if len(tokens) > MAX_TOKENS:
            raise TooBig("expression too long")
    return tokens


def _check(v: V, state: dict) -> V:
    if v.q is not None:
        if v.q.numerator.bit_length() > MAX_EXACT_BITS or v.q.denominator.bit_length() > MAX_EXACT_BITS:
            v = V(None, v.z)
        else:
            return v
    if v.inf:
        return v
    mag = abs(v.z)
    if not _CTX.isfinite(mag):
        raise EvalError("not a finite number")
    if mag != 0 and abs(_CTX.log10(mag)) > MAX_LOG10:
        raise TooBig("magnitude guard")
    lo, hi = WELL_CONDITIONED
    if mag != 0 and not (lo <= mag <= hi):
        state["conditioned"] = False
    return v


def _exact(q: Fraction) -> V:
    return V(q, _CTX.mpc(_CTX.mpf(q.numerator) / q.denominator))


def _int_root(n: int, k: int) -> int | None:
    if n < 0:
        return None
    r = isqrt(n) if k == 2 else round(n ** (1.0 / k)) if n.bit_length() < 1000 else None
    if r is None:
        return None
    for c in (r - 1, r, r + 1):
        if c >= 0 and c ** k == n:
            return c
    return None


def _pow(a: V, b: V, state: dict) -> V:
    if a.inf or b.inf:
        raise EvalError("power of infinity")
    if a.q is not None and b.q is not None:
        e = b.q
        if e.denominator == 1:
            n = e.numerator
            if a.q == 0 and n < 0:
                raise EvalError("division by zero")
            bits = max(a.q.numerator.bit_length(), a.q.denominator.bit_length())
            if abs(n) * bits <= MAX_EXACT_BITS:
                return _check(_exact(a.q ** n), state)
        elif a.q >= 0 and e.denominator <= 12 and abs(e.numerator) <= 64:
            num = _int_root(a.q.numerator, e.denominator)
            den = _int_root(a.q.denominator, e.denominator)
            if num is not None and den is not None:
                base = Fraction(num, den)
                if base != 0 or e > 0:
                    return _check(_exact(base ** e.numerator), state)
    lo, hi = WELL_CONDITIONED
    if any(v.z != 0 and not (lo <= abs(v.z) <= hi) for v in (a, b)):  # 2^{1/2^{1000}} is not 1 at 50 digits
        state["conditioned"] = False
    if a.z == 0:
        if b.z.real > 0:
            return _exact(Fraction(0)) if a.q is not None else V(None, _CTX.mpc(0))
        raise EvalError("zero to a non-positive power")
    log10_mag = (b.z * _CTX.log(a.z)).real / _CTX.ln(10)
    if abs(log10_mag) > MAX_LOG10:
        raise TooBig("power guard")
    return _check(V(None, _CTX.power(a.z, b.z)), state)


class _Parser:
    def __init__(self, tokens, point: list, state: dict):
        self.t, self.i, self.point, self.state, self.depth = tokens, 0, point, state, 0

    def peek(self, k=0):
        j = self.i + k
        return self.t[j] if j < len(self.t) else (None, None)

    def take(self, value=None):
        tok = self.peek()
        if tok[0] is None or (value is not None and tok[1] != value):
            raise EvalError(f"expected {value!r}, got {tok[1]!r}")
        self.i += 1
        return tok

    def parse(self) -> V:
        v = self.expr()
        if self.i != len(self.t):
            raise EvalError(f"unexpected {self.peek()[1]!r}")
        return v

    def expr(self) -> V:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise TooBig("nesting guard")
        v = self.term()
        while self.peek()[1] in ("+", "-"):
            op = self.take()[1]
            w = self.term()
            v = self.add(v, w, -1 if op == "-" else 1)
        self.depth -= 1
        return v

    def add(self, v: V, w: V, sign: int) -> V:
        if v.inf or w.inf:
            raise EvalError("arithmetic with infinity")
        q = (v.q + sign * w.q) if v.q is not None and w.q is not None else None
        return _check(V(q, v.z + sign * w.z), self.state)

    def term(self) -> V:
        v = self.unary()
        while True:
            kind, val = self.peek()
            if val in ("*", "/"):
                self.take()
                w = self.unary()
                v = self.mul(v, w, val == "/")
            elif self.starts_atom(kind, val):
                v = self.mul(v, self.power(), False)
            else:
                return v

    def mul(self, v: V, w: V, divide: bool) -> V:
        if v.inf or w.inf:
            raise EvalError("arithmetic with infinity")
        if divide:
            if w.z == 0:
                raise EvalError("division by zero")
            q = v.q / w.q if v.q is not None and w.q is not None else None
            return _check(V(q, v.z / w.z), self.state)
        q = v.q * w.q if v.q is not None and w.q is not None else None
        return _check(V(q, v.z * w.z), self.state)

    @staticmethod
    def starts_atom(kind, val) -> bool:
        return kind in ("num", "letter") or val in ("(", "{", "[") or (
            kind == "cmd" and val not in ("\\pm", "\\mp", "\\cup", "\\cap", "\\in"))

    def unary(self) -> V:
        val = self.peek()[1]
        if val in ("-", "+"):
            self.take()
            v = self.unary()
            if val == "+":
                return v
            if v.inf:
                return V(None, -v.z, -v.inf)
            return V(-v.q if v.q is not None else None, -v.z)
        return self.power()

    def power(self) -> V:
        base = self.postfix()
        if self.peek()[1] == "^":
            self.take()
            if self.peek()[1] in ("-", "+"):
                sign = self.take()[1]
                e = self.postfix()
                e = V(-e.q if e.q is not None else None, -e.z) if sign == "-" else e
            else:
                e = self.postfix(exponent=True)
            return _pow(base, e, self.state)
        return base

    def postfix(self, exponent=False) -> V:
        v = self.atom(exponent)
        while self.peek()[1] == "!":
            self.take()
            if v.q is None or v.q.denominator != 1 or v.q < 0:
                raise EvalError("factorial of a non-natural number")
            if v.q > MAX_FACTORIAL:
                raise TooBig("factorial guard")
            v = _check(_exact(Fraction(factorial(int(v.q)))), self.state)
        return v

    def group(self) -> V:
        self.take("{")
        v = self.expr()
        self.take("}")
        return v

    def atom(self, exponent=False) -> V:
        kind, val = self.peek()
        if kind is None:
            raise EvalError("unexpected end")
        if kind == "num":
            self.take()
            v = self.number(val)
            if self.peek() == ("cmd", "\\overline"):
                v = self.repeating(val)
            elif self.peek() == ("cmd", "\\frac") and "." not in val and self.i == 1:
                v = self.mixed(v)
            return v
        if kind == "letter":
            self.take()
            if val == "i":
                return V(None, _CTX.mpc(0, 1))
            if val == "e":
                return V(None, _CTX.mpc(_CTX.e))
            self.state["has_vars"] = True
            return V(None, self.point[val])
        if val in ("(", "[", "{"):
            closing = {"(": ")", "[": "]", "{": "}"}[val]
            self.take()
            v = self.expr()
            self.take(closing)
            return v
        if val == "|":
            self.take()
            v = self.expr()
            self.take("|")
            return V(abs(v.q) if v.q is not None else None, _CTX.mpc(abs(v.z)))
        if kind == "cmd":
            return self.command(val)
        raise EvalError(f"unexpected {val!r}")

    def number(self, text: str) -> V:
        if len(text) > 40:
            raise TooBig("number too long")
        try:
            q = Fraction(text)
        except (ValueError, ZeroDivisionError) as exc:
            raise EvalError(str(exc)) from exc
        return _check(_exact(q), self.state)

    def repeating(self, head: str) -> V:
        self.take("\\overline")
        self.take("{")
        kind, digits = self.take()
        self.take("}")
        if kind != "num" or not digits.isdigit() or len(digits) > 20:
            raise EvalError("bad repeating decimal")
        whole, _, frac = head.partition(".")
        base = Fraction(int(whole or "0")) + (Fraction(int(frac), 10 ** len(frac)) if frac else 0)
        rep = Fraction(int(digits), (10 ** len(digits) - 1) * 10 ** len(frac))
        return _exact(base + rep)

    def mixed(self, whole: V) -> V:
        # ``2\frac{1}{2}`` at the start of an answer is the mixed number 5/2 (documented policy).
        save = self.i
        self.take("\\frac")
        num, den = self.group(), self.group()
        if num.q is None or den.q is None or num.q.denominator != 1 or den.q.denominator != 1 or den.q == 0:
            self.i = save
            return whole
        return _exact(whole.q + num.q / den.q)

    def command(self, name: str) -> V:
        self.take()
        if name == "\\frac":
            num, den = self.group(), self.group()
            return self.mul(num, den, True)
        if name == "\\binom":
            n, k = self.group(), self.group()
            if n.q is None or k.q is None or n.q.denominator != 1 or k.q.denominator != 1 or n.q > MAX_FACTORIAL:
                raise EvalError("binomial of non-integers")
            return _exact(Fraction(_binom(int(n.q), int(k.q))))
        if name == "\\sqrt":
            index = V(Fraction(2), _CTX.mpc(2))
            if self.peek()[1] == "[":
                self.take("[")
                index = self.expr()
                self.take("]")
            arg = self.group() if self.peek()[1] == "{" else self.postfix()
            if index.q is None or index.q == 0:
                raise EvalError("bad root index")
            return _pow(arg, _exact(1 / index.q), self.state)
        if name == "\\pi":
            return V(None, _CTX.mpc(_CTX.pi))
        if name == "\\infty":
            return V(None, _CTX.mpc(_CTX.inf), 1)
        if name in _FUNCS:
            power = None
            if self.peek()[1] == "^":  # \sin^2 x
                self.take()
                power = self.postfix(exponent=True)
            base = None
            if name == "\\log" and self.peek()[1] == "_":
                self.take()
                base = self.postfix(exponent=True)
            arg = self.function_argument()
            if arg.inf:
                raise EvalError("function of infinity")
            try:
                z = _FUNCS[name](arg.z)
                if base is not None:
                    z = z / _CTX.ln(base.z)
            except (ValueError, ZeroDivisionError) as exc:
                raise EvalError(str(exc)) from exc
            exact = arg.q == 0 and name in ("\\sin", "\\tan", "\\arcsin", "\\arctan", "\\sinh", "\\tanh")
            v = _check(V(Fraction(0) if exact else None, _CTX.mpc(z)), self.state)
            return _pow(v, power, self.state) if power is not None else v
        raise EvalError(f"unsupported command {name}")

    def function_argument(self) -> V:
        if self.peek()[1] in ("(", "{"):
            return self.power()
        v = self.power()
        while self.starts_atom(*self.peek()) and self.peek()[0] != "cmd":
            v = self.mul(v, self.power(), False)
        return v


def _binom(n: int, k: int) -> int:
    if k < 0 or n < 0 or k > n:
        return 0
    return factorial(n) // (factorial(k) * factorial(n - k))


_DECIMAL = re.compile(r"^-?(\d*)\.(\d+)(?:\*10\^\{?([-+]?\d+)\}?|[eE]([-+]?\d+))?$")  # 0.125, 2.3148*10^{-3}


def evaluate(text: str) -> Result:
    """Evaluate ``text`` (normalized LaTeX) at every point; raises ``EvalError`` / ``TooBig``.

    >>> r = evaluate(r"\\frac{1}{2^{99}}")
    >>> r.values[0].q == evaluate(r"2^{-99}").values[0].q, r.values[0].q == evaluate("2^{-98}").values[0].q
    (True, False)
    >>> evaluate(r"0.\\overline{3}").values[0].q
    Fraction(1, 3)
    """
    tokens = tokenize(text)
    if not tokens:
        raise EvalError("empty")
    state = {"conditioned": True, "has_vars": False}
    values = [_Parser(tokens, _POINTS[0], state).parse()]
    if state["has_vars"]:
        values.append(_Parser(tokens, _POINTS[1], state).parse())
    decimal = _DECIMAL.match(text)
    places = significant = None
    if decimal:
        places = len(decimal.group(2)) - int(decimal.group(3) or decimal.group(4) or 0)
        significant = len((decimal.group(1) + decimal.group(2)).lstrip("0"))
    return Result(values, state["conditioned"], state["has_vars"], places, significant or 0)
