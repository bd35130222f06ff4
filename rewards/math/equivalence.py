r"""Decide whether two answers mean the same mathematical object.

Order of work, cheapest first; most calls end in the first two steps and never reach SymPy:

1. identical canonical text (``latex.normalize``);
2. shape (``structure.parse``): choices by letter, text case-insensitively, sets and lists unordered,
   tuples, intervals and matrices in order with their brackets, relations as ``lhs - rhs`` up to a
   constant factor (a positive one for inequalities);
3. scalars by the guarded evaluator (``evaluate``): exactly when both are rational, at 50 digits when
   the evaluation stayed well conditioned;
4. otherwise SymPy (via latex2sympy2) in a worker process under the call's deadline.

A tolerance applies in one case only: a decimal with at least 3 significant digits equals an exact value
that has no terminating decimal expansion when that value rounds (half up) to it at the decimal's
precision (``0.333`` = ``1/3``, ``1.414`` = ``\sqrt{2}``; but ``0.33`` != ``1/3``, and two terminating
values are always compared exactly). Percentages: ``12.5\%`` equals ``12.5`` and ``0.125``.
"""

from __future__ import annotations

import re
import time
from fractions import Fraction

from rewards.math.evaluate import _CTX, EvalError, Result, TooBig, evaluate
from rewards.math.latex import PLAIN_NUMBER, normalize
from rewards.math.structure import Node, parse
from rewards.math.sympy_worker import sympy_equal

TIME_LIMIT = 1.0  # seconds per call, hard (the SymPy fallback is killed at the deadline)
MAX_ITEMS = 64
MAX_NESTING = 40
_CLOSE_REL, _APART_REL = 1e-20, 1e-8
_FLIP = {"<": ">", "<=": ">="}
_FUNCTION_NAME = re.compile(r"^(?:y|[a-zA-Z]\([a-zA-Z]\))$")  # y = 2x+3 names the same thing as f(x) = 2x+3


class _Deadline(Exception):
    pass


def is_equivalent(a, b, *, timeout: float = TIME_LIMIT) -> bool:
    r"""Whether answers ``a`` and ``b`` (LaTeX or plain text) denote the same value or object.

    Never raises and never takes longer than ``timeout`` seconds.

    >>> is_equivalent(r"\frac{1}{2}", "0.5"), is_equivalent(r"\dfrac{\sqrt{8}}{2}", r"\sqrt2")
    (True, True)
    >>> is_equivalent(r"\{1, 2\}", r"\{2, 1\}"), is_equivalent("(1, 2]", "(1, 2)")
    (True, False)
    >>> is_equivalent(r"\frac{1}{2^{98}}", r"\frac{1}{2^{99}}")
    False
    """
    try:
        return equivalent_strict(a, b, timeout=timeout)
    except Exception:  # a bug must not stop a training run; the fuzz tests call equivalent_strict
        return False


def equivalent_strict(a, b, *, timeout: float = TIME_LIMIT) -> bool:
    """``is_equivalent`` without the last-resort exception guard (for tests)."""
    if a is None or b is None:
        return False
    deadline = time.monotonic() + timeout
    na, nb = normalize(str(a)), normalize(str(b))
    if not na.text or not nb.text:
        return False
    if na.text == nb.text:
        return True
    if PLAIN_NUMBER.match(na.text) and PLAIN_NUMBER.match(nb.text):  # the common case: two numbers
        x, y = Fraction(na.text), Fraction(nb.text)
        return x == y or (na.percent and x / 100 == y) or (nb.percent and y / 100 == x)
    for p, q in ((na, nb), (nb, na)):  # "1,22" against a number is a decimal comma
        if p.decimal_comma and PLAIN_NUMBER.match(q.text) and Fraction(p.text.replace(",", ".")) == Fraction(q.text):
            return True
    if _nesting(na.text) > MAX_NESTING or _nesting(nb.text) > MAX_NESTING:
        return False  # beyond the guard only identical text is equal
    try:
        return _equal(parse(na.text), parse(nb.text), na.percent, nb.percent, deadline)
    except _Deadline:
        return False


def _nesting(text: str) -> int:
    depth = deepest = 0
    for c in text:
        if c in "([{⦃":
            depth += 1
            deepest = max(deepest, depth)
        elif c in ")]}⦄":
            depth -= 1
    return deepest


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _Deadline
    return left


def _equal(x: Node, y: Node, pa: bool, pb: bool, deadline: float) -> bool:
    _remaining(deadline)
    if x.kind == "choice" or y.kind == "choice":  # a lower-case letter answers a choice: "b" is (B)
        letters = [n.value.upper() if n.kind == "scalar" and re.fullmatch("[a-e]", n.value) else n.value
                   for n in (x, y) if n.kind in ("choice", "scalar")]
        return len(letters) == 2 and letters[0] == letters[1]
    if x.kind == "text" or y.kind == "text":
        return " ".join(x.value.lower().split()) == " ".join(y.value.lower().split()) != ""
    if x.kind == "scalar" and y.kind == "scalar":
        return _scalar_equal(x.value, y.value, pa, pb, deadline)
    if x.kind == "relation" and y.kind == "relation":
        if x.solved and y.solved and (x.items[0].value == y.items[0].value or all(
                _FUNCTION_NAME.match(n.items[0].value) for n in (x, y))):
            return _equal(x.items[1], y.items[1], pa, pb, deadline)
        return _relation_equal(x, y, deadline)
    for rel, interval in ((x, y), (y, x)):  # "2x < 2", "-x > -1", "1 - x > 0" are the ray "x < 1"
        if rel.kind == "relation" and rel.value in ("<", "<=", ">", ">=") and interval.kind == "interval":
            ray = _ray(interval)
            return ray is not None and _relation_equal(rel, ray, deadline)
    if x.kind == "relation" or y.kind == "relation":  # "x = 3" answers "3"
        relation, other = (x, y) if x.kind == "relation" else (y, x)
        p_rel, p_other = (pa, pb) if x.kind == "relation" else (pb, pa)
        return (relation.solved and _equal(relation.items[1], other, p_rel, p_other, deadline)
                and not _states_two_values(relation))
    return _collection_equal(x, y, deadline)


def _states_two_values(relation: Node) -> bool:
    """``\\sqrt{4} = 3`` or ``1+1 = 42``: a computed left side that provably differs from the right side is
    a hedge between two values, not a named answer."""
    lhs, rhs = relation.items
    if lhs.kind != "scalar" or rhs.kind != "scalar":
        return False
    try:
        a, b = _evaluate(lhs.value), _evaluate(rhs.value)
    except TooBig:
        return False
    return (a is not None and b is not None and not a.has_vars and not b.has_vars
            and _values_equal(a, b, Fraction(1), Fraction(1)) is False)


def _ray(interval: Node) -> Node | None:
    """A one-sided interval read from ``x < 1`` as that relation again (None for other intervals)."""
    lo, hi = interval.items
    if not interval.value or (lo.value == "-\\infty") == (hi.value == "\\infty"):
        return None
    var = Node("scalar", interval.value)
    if lo.value == "-\\infty":
        return Node("relation", "<" if interval.brackets[1] == ")" else "<=", items=(var, hi))
    return Node("relation", ">" if interval.brackets[0] == "(" else ">=", items=(var, lo))


def _flat(node: Node) -> tuple | None:
    """A one-row or one-column matrix as a plain sequence (a vector)."""
    rows = node.items
    if len(rows) == 1:
        return rows[0]
    if all(len(r) == 1 for r in rows):
        return tuple(r[0] for r in rows)
    return None


def _collection_equal(x: Node, y: Node, deadline: float) -> bool:
    if len(x.items) > MAX_ITEMS or len(y.items) > MAX_ITEMS:
        return False
    kinds = {x.kind, y.kind}
    if kinds <= {"set", "list"} or kinds == {"union"}:
        return _unordered_equal(_distinct_tuples(x.items), _distinct_tuples(y.items), deadline)
    if kinds == {"matrix"}:
        return len(x.items) == len(y.items) and all(
            _ordered_equal(r, s, deadline) for r, s in zip(x.items, y.items))
    if "matrix" in kinds:
        m, other = (x, y) if x.kind == "matrix" else (y, x)
        vector = _flat(m)
        return other.kind in ("tuple", "list", "interval") and vector is not None and _ordered_equal(vector, other.items, deadline)
    if kinds <= {"tuple", "interval"}:
        return x.brackets == y.brackets and _ordered_equal(x.items, y.items, deadline)
    if kinds <= {"tuple", "interval", "list"}:
        seq = x if x.kind != "list" else y
        return seq.brackets == "()" and _ordered_equal(x.items, y.items, deadline)
    return False


def _distinct_tuples(items: tuple) -> tuple:
    """A solution set lists each tuple once: a pair written twice counts once (numbers keep multiplicity,
    ``1, 1, 2`` are roots with one repeated)."""
    return tuple(n for k, n in enumerate(items) if n.kind not in ("tuple", "interval") or n not in items[:k])


def _ordered_equal(xs, ys, deadline) -> bool:
    return len(xs) == len(ys) and all(_equal(a, b, False, False, deadline) for a, b in zip(xs, ys))


def _unordered_equal(xs, ys, deadline) -> bool:
    if len(xs) != len(ys):
        return False
    unmatched = list(ys)
    for a in xs:
        for k, b in enumerate(unmatched):
            if _equal(a, b, False, False, deadline):
                del unmatched[k]
                break
        else:
            return False
    return True


def _relation_equal(x: Node, y: Node, deadline: float) -> bool:
    def canonical(node: Node) -> tuple[str, str]:
        lhs, rhs = node.items
        op = node.value
        if op in _FLIP:
            lhs, rhs, op = rhs, lhs, _FLIP[op]
        return op, f"({lhs.value})-({rhs.value})"

    op_x, ex = canonical(x)
    op_y, ey = canonical(y)
    if op_x != op_y or any(n.kind != "scalar" for n in x.items + y.items):
        return False
    try:
        rx, ry = evaluate(ex), evaluate(ey)
    except EvalError:
        return bool(sympy_equal(ex, ey, _remaining(deadline)))
    ratios = []
    for vx, vy in zip(rx.values, ry.values):
        if (vx.z == 0) != (vy.z == 0):
            return False
        if vx.z != 0:
            ratios.append(vx.z / vy.z)
    if not ratios or not (rx.conditioned and ry.conditioned):
        return bool(sympy_equal(ex, ey, _remaining(deadline)))
    r0 = ratios[0]
    if any(abs(r - r0) > _CLOSE_REL * max(1, abs(r0)) for r in ratios) or abs(r0.imag) > _CLOSE_REL:
        return False
    return op_x in ("=", "!=") or r0.real > 0


def _evaluate(text: str):
    try:
        return evaluate(text)
    except TooBig:
        raise
    except (EvalError, ArithmeticError, ValueError, RecursionError):
        return None


def _scalar_equal(a: str, b: str, pa: bool, pb: bool, deadline: float) -> bool:
    try:
        ra, rb = _evaluate(a), _evaluate(b)
    except TooBig:
        return False  # beyond the guards only identical text is equal (checked before)
    if ra is None or rb is None:
        return bool(sympy_equal(a, b, _remaining(deadline)))
    for sa in (Fraction(1), Fraction(1, 100)) if pa else (Fraction(1),):
        for sb in (Fraction(1), Fraction(1, 100)) if pb else (Fraction(1),):
            verdict = _values_equal(ra, rb, sa, sb)
            if verdict is None:
                verdict = bool(sympy_equal(_scaled(a, sa), _scaled(b, sb), _remaining(deadline)))
            if verdict:
                return True
    return _rounded_equal(ra, rb) or _rounded_equal(rb, ra)


def _scaled(text: str, scale: Fraction) -> str:
    return text if scale == 1 else f"({text})/100"


def _values_equal(ra: Result, rb: Result, sa: Fraction, sb: Fraction) -> bool | None:
    """True / False when decided here, None when only SymPy can tell."""
    xs, ys = ra.values, rb.values
    n = max(len(xs), len(ys))
    pairs = list(zip(xs * (n // len(xs)), ys * (n // len(ys))))  # a constant meets every point
    if any(v.inf or w.inf for v, w in pairs):
        return all(v.inf == w.inf for v, w in pairs)
    if all(v.q is not None and w.q is not None for v, w in pairs):
        return all(v.q * sa == w.q * sb for v, w in pairs)
    close = True
    for v, w in pairs:
        x, y = v.z * sa.numerator / sa.denominator, w.z * sb.numerator / sb.denominator
        scale = max(1, abs(x), abs(y))
        diff = abs(x - y)
        if diff > _APART_REL * scale and ra.conditioned and rb.conditioned:
            return False
        close = close and diff <= _CLOSE_REL * scale
    if ra.conditioned and rb.conditioned:
        return close
    return None


def _rounded_equal(decimal: Result, other: Result) -> bool:
    """The documented tolerance: a >=3-significant-digit decimal equals a non-terminating exact value
    that rounds to it."""
    if decimal.decimal_places is None or decimal.significant < 3 or other.has_vars:
        return False
    places = decimal.decimal_places
    target = decimal.values[0].q * Fraction(10) ** places
    value = other.values[0]
    if value.inf:
        return False
    if value.q is not None:
        den = value.q.denominator
        for p in (2, 5):
            while den % p == 0:
                den //= p
        if den == 1:
            return False  # terminating: compared exactly
        scaled = value.q * Fraction(10) ** places
        rounded = (scaled + Fraction(1, 2)).__floor__() if scaled >= 0 else -((-scaled + Fraction(1, 2)).__floor__())
        return rounded == target
    if abs(value.z.imag) > 1e-30 or not other.conditioned:
        return False
    scaled = value.z.real * _CTX.mpf(10) ** places
    rounded = int(_CTX.floor(scaled + _CTX.mpf(0.5))) if scaled >= 0 else -int(_CTX.floor(-scaled + _CTX.mpf(0.5)))
    return rounded == target
