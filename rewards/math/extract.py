r"""Find the final answer a completion commits to.

Policy, first rule that applies wins (only the last 4,096 characters are read, so a 1 MB output costs
the same as a short one):

1. ``\boxed{...}`` / ``\fbox{...}`` (nested braces allowed). The last box counts (R1-style reasoning boxes
   intermediate results; the field's convention). Boxes joined only by commas / "and" form one answer
   (a collection boxed one element per box, and box spam ``\boxed{1}\boxed{2}\boxed{3}`` is a list, not
   its last element); boxes offered as alternatives ("\boxed{3} or \boxed{4}") commit to none. A box cut
   off by the length limit commits to none. ``boxed_answers`` gives every box, for golds that are
   collections answered one box per element (``reward.verify``).
2. The last "final answer is" / "answer is" / "Answer:" / GSM8K ``####`` / line-leading ``A:`` marker,
   up to the end of its sentence (``$...$`` math after the marker is taken whole; a sentence such as
   "The largest $n$ is 34" gives what follows its last "is").
3. A last line that is only a bold multiple-choice letter (``**B**``).
4. The last math span (``$...$``, ``$$...$$``, ``\(...\)``, ``\[...\]``): the field's fallback.
5. The whole completion, when it is a bare answer (a number or a formula, no prose).
6. Only under the ``"eval"`` policy: the last number in the text (lm-eval / Math-Verify convention). The
   ``"train"`` policy never takes the last number of a chain of thought, so rambling is not rewarded by luck.

A hedge ("3 or 4") commits to nothing, except an enumeration of one variable's solutions
(``x = 3 \text{ or } x = 4`` is read as the list ``3, 4``).
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
_SPANS = re.compile(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$|\\\[(.+?)\\\]|\\\((.+?)\\\)|(?<![\\$])\$([^$\n]+?)(?<!\\)\$", re.S)
_IS = re.compile(r"\b(?:is|are|equals|be|=)\s+", re.IGNORECASE)
_PROSE = re.compile(r"[a-zA-Z]{3,}")
_LATEX_WORDS = re.compile(r"\\[a-zA-Z]+|\\text\s*\{[^{}]*\}|\b(?:sqrt|frac|sin|cos|tan|log|exp|infty|and|or)\b")
_LAST_NUMBER = re.compile(r"(?<![\w.])(?:[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:/\d+)?|[-+]?\.\d+)(?![\w])")
POLICIES = ("train", "eval")


def _boxed(text: str) -> tuple[list[str], bool, list[str]]:
    """All boxed contents, whether the last box is cut off, and the text between consecutive boxes."""
    found, cut, gaps, last_end = [], False, [], 0
    for m in _BOX.finditer(text):
        if m.group(1) is None:  # \boxed 5
            token = re.match(r"\s*(\S+)", text[m.end():])
            if token:
                gaps.append(text[last_end:m.start()])
                found.append(token.group(1).rstrip("$.,"))
                last_end = m.end() + token.end()
            continue
        end = matching_brace(text, m.end() - 1)
        if end is None:
            cut = True
            continue
        cut = False
        gaps.append(text[last_end:m.start()])
        found.append(text[m.end():end].strip())
        last_end = end + 1
    return found, cut, gaps[1:]


_JOINER = re.compile(r"^(?:\s|[$,;.]|\\[()\[\]]|\\q?quad|\\[,;: !]|and|\\text\s*\{\s*(?:and)?\s*\})*$")


def _last_boxed(found: list[str], gaps: list[str]) -> str | None:
    """The answer the boxes commit to: the last box, or the trailing run of boxes joined only by commas /
    "and" (one box per element of a collection: ``\\boxed{(2, 2)} \\text{ and } \\boxed{(6, 2)}``); ``None``
    when the last two boxes are offered as alternatives ("either \\boxed{3} or \\boxed{4}")."""
    if gaps and _HEDGE.search(gaps[-1]):
        return None
    run = [found[-1]]
    for box, gap in zip(reversed(found[:-1]), reversed(gaps)):
        if not _JOINER.match(gap):
            break
        run.insert(0, box)
    return ", ".join(run)


def boxed_answers(completion) -> list[str]:
    """Every complete boxed answer of a completion's tail, in order."""
    found, _, _ = _boxed(completion_text(completion)[-MAX_TAIL_CHARS:])
    return [f for f in found if f]


def math_spans(text: str) -> list[str]:
    """The contents of every ``$...$`` / ``$$...$$`` / ``\\(...\\)`` / ``\\[...\\]`` span, in order."""
    return [next(g for g in m.groups() if g is not None).strip() for m in _SPANS.finditer(text)]


def _is_bare(text: str) -> bool:
    """A bare answer: a number or formula without prose (``\\frac34i``, ``-1 + sqrt(3)``, ``10, 4, -2``)."""
    return (0 < len(text) <= 200 and text.isprintable() and re.search(r"[\w\\]", text) is not None
            and "$" not in text and not _PROSE.search(_LATEX_WORDS.sub(" ", text)))


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
        if not _is_bare(answer.strip()):  # "The largest $n$ is 34": what follows the last "is"
            tail = list(_IS.finditer(answer))
            if tail:
                answer = answer[tail[-1].end():]
            spans = math_spans(answer)
            if len(spans) == 1 and not _PROSE.search(_SPANS.sub(" ", answer)):
                answer = spans[0]
    answer = answer.replace("\x02", "\\$").strip().strip("*").strip().rstrip(".").strip()
    choice = _CHOICE_LEAD.match(answer)
    if choice:
        return choice.group(1) or choice.group(2)
    return answer or None


def extract_answer(completion, *, policy: str = "train") -> str | None:
    r"""The final answer a completion commits to, or ``None``.

    >>> extract_answer(" 19"), extract_answer("so the total is 7. #### 7")
    ('19', '7')
    >>> extract_answer(r"We get \boxed{\frac{1}{2}}.")
    '\\frac{1}{2}'
    >>> extract_answer("The answer is (B) because ..."), extract_answer("I think it is 3, maybe 4") is None
    ('B', True)
    >>> extract_answer(r"First \boxed{3}, then, checking again, \boxed{4}")
    '4'
    >>> extract_answer("The speed is 50 km/h") is None, extract_answer("The speed is 50 km/h", policy="eval")
    (True, '50')
    """
    text = completion_text(completion)[-MAX_TAIL_CHARS:]
    if "\\boxed" in text or "\\fbox" in text:
        found, cut, gaps = _boxed(text)
        if cut or not found:
            return None
        answer = _last_boxed(found, gaps)
        return _unhedge(answer) if answer else None
    markers = list(_MARKER.finditer(text))
    if markers:
        answer = _after_marker(text[markers[-1].end():])
        return _unhedge(answer) if answer else None
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if lines:
        bold = _BOLD_CHOICE.match(lines[-1])
        if bold:
            return bold.group(1)
    spans = math_spans(text.replace("\\$", "\x02"))
    if spans:
        return _unhedge(spans[-1].replace("\x02", "\\$")) or None
    stripped = re.sub(r"^\\?\$(?=\d)", "", text.strip().rstrip(".").strip())  # "$50": a dollar amount
    if _is_bare(stripped):
        return _unhedge(stripped) or None
    if policy == "eval" and "\\(" not in text and not re.search(r"\$\s*\n", text):  # no unreadable math
        numbers = _LAST_NUMBER.findall(text)
        return numbers[-1] if numbers else None
    return None
