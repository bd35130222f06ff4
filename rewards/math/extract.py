r"""Find the final answer a completion commits to.

Policy, first rule that applies wins (only the last 4,096 characters are read, so a 1 MB output costs
the same as a short one):

1. ``\boxed{...}`` / ``\fbox{...}`` (nested braces allowed). All boxed answers must agree: a completion
   that boxes different answers commits to none. A box cut off by the length limit commits to none.
2. The last "final answer is" / "answer is" / "Answer:" / GSM8K ``####`` / line-leading ``A:`` marker,
   up to the end of its sentence (``$...$`` math after the marker is taken whole).
3. A last line that is only a bold multiple-choice letter (``**B**``).
4. The whole completion, when it is nothing but a number (the toy task's `` 19``).

A hedge ("3 or 4") commits to nothing, except an enumeration of one variable's solutions
(``x = 3 \text{ or } x = 4`` is read as the list ``3, 4``). The last number in a chain of thought is
never taken as an answer, so rambling cannot be rewarded by luck.
"""

from __future__ import annotations

import re

from rewards.contract import completion_text
from rewards.math.latex import matching_brace

MAX_TAIL_CHARS = 4096

_BOX = re.compile(r"\\(?:boxed|fbox)\s*(\{)?")
_MARKER = re.compile(
    r"(?:final\s+answer\s*(?:is|:)|answer\s+is|answer\s*:|####|^\s*A\s*:)\s*(?:\*\*)?\s*:?\s*",
    re.IGNORECASE | re.MULTILINE)
_MATH_SPAN = re.compile(r"^\$\$?(.+?)\$\$?|^\\\((.+?)\\\)|^\\\[(.+?)\\\]", re.S)
_SENTENCE_END = re.compile(r"\.(?=\s|$)|\n|(?<=\S),\s+(?:so|which|because|since|and|as)\b", re.IGNORECASE)
_BOLD_CHOICE = re.compile(r"^\*\*\s*\(?([A-E])\)?\s*\*\*\.?$")
_CHOICE_LEAD = re.compile(r"^\(?([A-E])\)(?:\s.*)?$|^([A-E])(?:[.:]\s.*|\s*\.)?$", re.S)
_BARE = re.compile(r"^[-+]?\$?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:/\d+)?$")
_HEDGE = re.compile(r"\\text\{\s*or\s*\}|\bor\b", re.IGNORECASE)
_SOLUTION = re.compile(r"^\s*([a-zA-Z])\s*=\s*(.+?)\s*$")


def _boxed(text: str) -> tuple[list[str], bool]:
    """All boxed contents, and whether the last box is cut off."""
    found, cut = [], False
    for m in _BOX.finditer(text):
        if m.group(1) is None:  # \boxed 5
            token = re.match(r"\s*(\S+)", text[m.end():])
            if token:
                found.append(token.group(1).rstrip("$.,"))
            continue
        end = matching_brace(text, m.end() - 1)
        if end is None:
            cut = True
            continue
        cut = False
        found.append(text[m.end():end].strip())
    return found, cut


def _unhedge(answer: str) -> str | None:
    parts = _HEDGE.split(answer)
    if len(parts) == 1:
        return answer
    solutions = [_SOLUTION.match(p.strip(" ,$")) for p in parts]
    if all(solutions) and len({s.group(1) for s in solutions}) == 1:
        return ", ".join(s.group(2) for s in solutions)
    return None


def _after_marker(rest: str) -> str | None:
    rest = rest.lstrip().replace("\\$", "\x02")  # an escaped dollar is not a math delimiter
    math = _MATH_SPAN.match(rest)
    if math:
        answer = next(g for g in math.groups() if g is not None).replace("\x02", "\\$")
    else:
        end = _SENTENCE_END.search(rest)
        answer = rest[:end.start()] if end else rest
    answer = answer.replace("\x02", "\\$").strip().strip("*").strip().rstrip(".").strip()
    choice = _CHOICE_LEAD.match(answer)
    if choice:
        return choice.group(1) or choice.group(2)
    return answer or None


def extract_answer(completion) -> str | None:
    r"""The final answer a completion commits to, or ``None``.

    >>> extract_answer(" 19"), extract_answer("so the total is 7. #### 7")
    ('19', '7')
    >>> extract_answer(r"We get \boxed{\frac{1}{2}}.")
    '\\frac{1}{2}'
    >>> extract_answer("The answer is (B) because ..."), extract_answer("I think it is 3, maybe 4") is None
    ('B', True)
    >>> extract_answer(r"It is \boxed{3} or \boxed{4}") is None
    True
    """
    text = completion_text(completion)[-MAX_TAIL_CHARS:]
    if "\\boxed" in text or "\\fbox" in text:
        found, cut = _boxed(text)
        if cut or not found:
            return None
        last = found[-1]
        if len(found) > 1:
            from rewards.math.equivalence import is_equivalent

            if any(other != last and not is_equivalent(other, last) for other in found[:-1]):
                return None  # several different final answers
        return _unhedge(last) or None
    markers = list(_MARKER.finditer(text))
    if markers:
        answer = _after_marker(text[markers[-1].end():])
        return _unhedge(answer) if answer else None
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if lines:
        bold = _BOLD_CHOICE.match(lines[-1])
        if bold:
            return bold.group(1)
    stripped = text.strip().rstrip(".")
    if stripped and len(stripped) <= 40 and _BARE.match(stripped) and any(c.isdigit() for c in stripped):
        return stripped
    return None
