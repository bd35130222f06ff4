r"""Parse a normalized answer into its mathematical shape: scalar, set, tuple, interval, union, matrix,
relation, multiple-choice letter or plain text.

Shapes decide *how* two answers compare (a set is unordered, an interval's brackets matter, ``x = 3``
means ``3``); the values inside are compared by ``equivalence``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_CHOICE = re.compile(r"^\(?([A-E])\)?(?:[\s:.)].*)?$")
_CHOICE_STRICT = re.compile(r"^(?:\(([A-Ea-e])\)|([A-E]))$")
_VARIABLE = re.compile(r"^(?:[a-zA-Z]|\\[a-zA-Z]+)(?:_\{?\w+\}?)?(?:\([a-zA-Z]\))?$")
_MATRIX = re.compile(r"^\\begin\{([pbvBV]?matrix|array)\}(?:\{[^{}]*\})?(.*)\\end\{\1\}$", re.S)
_OPEN, _CLOSE = "([{⦃", ")]}⦄"
_RELATIONS = ("<=", ">=", "!=", "<", ">", "=")


@dataclass(frozen=True)
class Node:
    kind: str                     # scalar | text | choice | set | list | tuple | interval | union | matrix | relation
    value: str = ""               # scalar/text/choice payload; relation operator; an interval's variable
    items: tuple = field(default_factory=tuple)
    brackets: str = ""            # "()", "[)", ... for tuples and intervals
    solved: bool = False          # a relation "x = <rhs>" whose left side is one variable


def split_top(text: str, separators: tuple[str, ...]) -> list[str]:
    """Split on separators that are not nested in brackets."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        c = text[i]
        if c in _OPEN:
            depth += 1
        elif c in _CLOSE:
            depth -= 1
        elif depth == 0:
            for sep in separators:
                if text.startswith(sep, i) and not (sep in "<>" and text.startswith("=", i + 1)):
                    parts.append(text[start:i])
                    parts.append(sep)
                    i += len(sep)
                    start = i
                    break
            else:
                i += 1
                continue
            continue
        i += 1
    parts.append(text[start:])
    return parts


def _wrapped(text: str) -> bool:
    """Whether the bracket opened at text[0] closes at text[-1]."""
    if len(text) < 2 or text[0] not in _OPEN or text[-1] not in _CLOSE:
        return False
    depth = 0
    for i, c in enumerate(text):
        if c in _OPEN:
            depth += 1
        elif c in _CLOSE:
            depth -= 1
            if depth == 0:
                return i == len(text) - 1
    return False


def _expand_pm(item: str) -> list[str]:
    if "\\pm" not in item and "\\mp" not in item:
        return [item]
    k = item.find("\\pm") if "\\pm" in item else item.find("\\mp")
    plus, minus = ("+", "-") if item[k:k + 3] == "\\pm" else ("-", "+")
    head, tail = item[:k], item[k + 3:]
    return _expand_pm(head + plus + tail) + _expand_pm(head + minus + tail)


def _items(body: str) -> tuple[Node, ...]:
    parts = [p for p in split_top(body, (",", ";")) if p not in (",", ";")]
    out = []
    for p in parts:
        for q in _expand_pm(p.strip()):
            out.append(parse(q))
    return tuple(out)


def _interval_from_relation(parts: list[str]) -> Node | None:
    """``x > 3`` -> (3, inf); ``1 < x <= 3`` -> (1, 3]; None for other relations."""
    ops = parts[1::2]
    terms = [p.strip() for p in parts[0::2]]
    if any(op in ("=", "!=") for op in ops) or len(terms) not in (2, 3):
        return None
    if len(terms) == 2:
        lhs, op, rhs = terms[0], ops[0], terms[1]
        if _VARIABLE.match(rhs) and not _VARIABLE.match(lhs):
            lhs, rhs, op = rhs, lhs, {"<": ">", ">": "<", "<=": ">=", ">=": "<="}[op]
        if not _VARIABLE.match(lhs):
            return None
        if op in (">", ">="):
            return Node("interval", lhs, items=(parse(rhs), Node("scalar", "\\infty")), brackets=("(" if op == ">" else "[") + ")")
        return Node("interval", lhs, items=(Node("scalar", "-\\infty"), parse(rhs)), brackets="(" + (")" if op == "<" else "]"))
    lo, op1, mid, op2, hi = terms[0], ops[0], terms[1], ops[1], terms[2]
    if not _VARIABLE.match(mid) or {op1, op2} - {"<", "<="} and {op1, op2} - {">", ">="}:
        return None
    if op1 in (">", ">="):
        lo, hi, op1, op2 = hi, lo, {">": "<", ">=": "<="}[op2], {">": "<", ">=": "<="}[op1]
    return Node("interval", mid, items=(parse(lo), parse(hi)), brackets=("(" if op1 == "<" else "[") + (")" if op2 == "<" else "]"))


PLAIN = re.compile(r"^\s*[-+]?[\d.]+\s*$")


def _closed(expr: str) -> bool:
    """An expression with no free variable: only constants (e, i, pi), bound variables (the variable of a
    lim / sum / prod subscript, the d-variable of an integral) and operators."""
    bound = set("ei") | (set("d") if "\\int" in expr else set())
    for m in re.finditer(r"\\(?:lim|sum|prod)_\{?\s*([a-zA-Z])|\bd([a-zA-Z])\b", expr):
        bound.add(m.group(1) or m.group(2))
    body = re.sub(r"\\(?:begin|end)\{[a-zA-Z*]+\}|\\[a-zA-Z]+", " ", expr)
    return re.search(r"[\\^+\-*/]", expr) is not None and set(re.findall(r"[a-zA-Z]", body)) <= bound


def _is_name(lhs: str, rhs: str) -> bool:
    """The left side of a named answer: a variable, a tuple of variables, a segment or ratio name
    (``AB``, ``|AB|``, ``V_1:V_2``, ``\\frac{NO}{BO}``), a function value ``f(x)``, or a constant."""
    if _VARIABLE.match(lhs):
        return True
    if _closed(lhs) and PLAIN.match(rhs):  # "e^{i\pi} = -1", "\lim_{x \to 0} \frac{\sin x}{x} = 1": a computed value
        return True
    bare = re.sub(r"_\{?\w+\}?", "", lhs)
    if not re.search(r"[a-zA-Z]", re.sub(r"\\[a-zA-Z]+", "", bare)):  # "\sqrt{4} = 2", not "7 = 11a+c"
        return not PLAIN.match(bare) and not re.search(r"[a-zA-Z]", re.sub(r"\\[a-zA-Z]+", "", rhs))
    return not re.search(r"[\d+\-*/^]", bare) and bool(re.fullmatch(r"[\w\\{}()|:,\s]+", bare))


def _named_groups(s: str) -> Node | None:
    """``p=5,q=2;p=7,q=2`` -> the list of tuples ``(5,2), (7,2)``: solutions given as groups of assignments
    to the same names, one group per solution."""
    groups = [g for g in split_top(s, (";",)) if g != ";"]
    if len(groups) < 2:
        return None
    names, tuples = None, []
    for group in groups:
        pairs = [split_top(p, ("=",)) for p in split_top(group, (",",)) if p != ","]
        if len(pairs) < 2 or any(len(p) != 3 or not _VARIABLE.match(p[0].strip()) for p in pairs):
            return None
        if names not in (None, [p[0].strip() for p in pairs]):
            return None
        names = [p[0].strip() for p in pairs]
        tuples.append(Node("tuple", items=tuple(parse(p[2].strip()) for p in pairs), brackets="()"))
    return Node("list", items=tuple(tuples))


def parse(text: str) -> Node:
    r"""The shape of a normalized answer.

    >>> parse("(1,3]").kind, parse("(1,3]").brackets
    ('interval', '(]')
    >>> parse("x>3").brackets, parse("x=5").items[1].value, parse("x=5").solved
    ('()', '5', True)
    >>> [n.value for n in parse("⦃1\\pm\\sqrt{5},-2⦄").items]
    ['1+\\sqrt{5}', '1-\\sqrt{5}', '-2']
    """
    s = text.strip()
    if not s:
        return Node("text", "")
    m = _CHOICE_STRICT.match(s)
    if m:
        return Node("choice", (m.group(1) or m.group(2)).upper())
    s = re.sub(r"^(?:[a-zA-Z]|\\[a-zA-Z]+)\s*\\in\s*", "", s)
    if s[0] in "([" and _wrapped(s) and _MATRIX.match(s[1:-1].strip()):  # \left[\begin{array}..\end{array}\right]
        s = s[1:-1].strip()
    matrix = _MATRIX.match(s)
    if matrix:
        rows = [r for r in re.split(r"\\\\", matrix.group(2)) if r.strip()]
        return Node("matrix", items=tuple(tuple(parse(c.strip()) for c in r.split("&")) for r in rows))
    union = [p for p in split_top(s, ("\\cup",)) if p != "\\cup"]
    if len(union) > 1 and all(_wrapped(p.strip()) for p in union):
        return Node("union", items=tuple(parse(p.strip()) for p in union))
    groups = _named_groups(s)
    if groups is not None:
        return groups
    if len(split_top(s, (",", ";"))) > 1:
        items = _items(s)
        return Node("list", items=items) if len(items) > 1 else items[0]
    parts = split_top(s, _RELATIONS)
    if len(parts) > 1:
        interval = _interval_from_relation(parts)
        if interval is not None:
            return interval
        if len(parts) > 3 and set(parts[1::2]) == {"="}:  # "x = 5+5+1 = 11": the last value counts
            parts = [parts[0], "=", parts[-1]]
            return Node("relation", "=", items=(parse(parts[0]), parse(parts[2])), solved=True)
        if len(parts) == 3:  # "x = 3", "(p,q) = (3,2)", "AB = 4", "\sqrt{4} = 2" are solved: they answer "3"
            solved = parts[1] == "=" and _is_name(parts[0].strip(), parts[2])
            return Node("relation", parts[1], items=(parse(parts[0]), parse(parts[2])), solved=solved)
    if "\\text" in s or "\\or" in s:
        return Node("text", s)
    if _wrapped(s):
        inner = s[1:-1]
        if s[0] == "⦃":
            return Node("set", items=_items(inner))
        if s[0] == "{":
            return parse(inner)
        items = _items(inner)
        if len(items) == 1:  # "(5)" and "[45]" (a one-element list as Python prints it) are the item
            return items[0] if s[0] + s[-1] in ("()", "[]") else Node("tuple", items=items, brackets=s[0] + s[-1])
        kind = "interval" if len(items) == 2 else "tuple"
        return Node(kind, items=items, brackets=s[0] + s[-1])
    if "\\pm" in s or "\\mp" in s:
        items = _items(s)
        return Node("list", items=items) if len(items) > 1 else items[0]
    if re.fullmatch(r"[a-zA-Z][a-zA-Z ]+", s) and s.lower() not in ("pi",):
        return Node("text", s)
    return Node("scalar", s)
