r"""Find the final answer a completion commits to.

Policy, first rule that applies wins (only the last 4,096 characters are read, so a 1 MB output costs
the same as a short one):

0. Text whose LaTeX commands were escaped twice (``\\frac``, as JSON or a raw string written by a model
   often carries them) is read with single backslashes.
1. ``\boxed{...}`` / ``\fbox{...}`` (nested braces allowed). The last box counts (R1-style reasoning boxes
   intermediate results; the field's convention). Boxes joined only by commas / "and" form one answer
   (a collection boxed one element per box, and box spam ``\boxed{1}\boxed{2}\boxed{3}`` is a list, not
   its last element); boxes offered as alternatives ("\boxed{3} or \boxed{4}") commit to none. A box cut
   off by the length limit commits to none. ``boxed_answers`` gives every box, for golds that are
   collections answered one box per element (``reward.verify``). A box is overruled by an answer marker
   written after it ("\boxed{255} ... Final Answer: The final answer is $10,455$").
2. The last "final answer is" / "answer is" / "Answer:" / GSM8K ``####`` / line-leading ``A:`` marker,
   up to the end of its sentence (``$...$`` math after the marker is taken whole; a sentence such as
   "The largest $n$ is 34" gives what follows its last "is"; a prose sentence with exactly one number,
   "Jane started growing it 3 hours ago", gives that number).
3. A last line that is only a bold multiple-choice letter (``**B**``).
4. The last math span (``$...$``, ``$$...$$``, ``\(...\)``, ``\[...\]``): the field's fallback.
5. The whole completion, when it is a bare answer (a number or a formula, no prose; a number with one unit).
6. Only under the ``"eval"`` policy: the last number in the text (lm-eval / Math-Verify convention), which
   also wins over step 4 when numbers follow the last math span in prose ("Therefore, there are 12
   sequences."); there the ``"train"`` policy commits to nothing. ``"train"`` never takes the last number of
   a chain of thought, so rambling is not rewarded by luck.

A hedge ("3 or 4") commits to nothing, except an enumeration of one variable's solutions
(``x = 3 \text{ or } x = 4`` is read as the list ``3, 4``).
"""

from __future__ import annotations

import re

from rewards.contract import completion_text
from rewards.math.latex import matching_brace, undouble

MAX_TAIL_CHARS = 4096

_BOX = re.compile(r"\\(?:boxed|fbox)\s*(\{)?")
_MARKER = re.compile(
    r"(?:final\s+answer\s*(?:is|:)|answer\s+is|answer\s*:|####|^\s*A\s*:"
    r"|(?:答案|réponse|respuesta|resposta|antwort|risposta|ответ)\s*[:：])\s*(?:\*\*)?\s*:?\s*",
    re.IGNORECASE | re.MULTILINE)
_MATH_SPAN = re.compile(r"^\$\$?(.+?)\$\$?|^\\\((.+?)\\\)|^\\\[(.+?)\\\]", re.S)
_SENTENCE_END = re.compile(r"\.(?=\s|$)|[\n。]|(?<=\S),\s+(?:so|which|because|since|and|as|but)\b", re.IGNORECASE)
_BOLD_CHOICE = re.compile(r"^\*\*\s*\(?([A-E])\)?\s*\*\*\.?$")
_CHOICE_LEAD = re.compile(r"^\(?([A-E])\)(?:\s.*)?$|^([A-E])(?:[.:]\s.*|\s*\.)?$", re.S)
_BARE_WITH_UNIT = re.compile(r"^\\?\$?([-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:/\d+)?)\s*"
                             r"(?:\\text\s*\{[^{}$]*\}|\\?%|[a-zA-Z€$²³°]+)$")  # "28 percent", "10\text{ units}"
_BARE = re.compile(r"^[-+]?\$?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:/\d+)?$")
_HEDGE = re.compile(r"\\text\{\s*or\s*\}|\bor\b", re.IGNORECASE)
_SOLUTION = re.compile(r"^\s*([a-zA-Z])\s*=\s*(.+?)\s*$")
# Inline math (``$...$``, ``\(...\)``) does not cross a line break; display math may.
_SPANS = re.compile(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$|\\\[(.+?)\\\]|\\\(([^\n]+?)\\\)|(?<![\\$])\$([^$\n]+?)(?<!\\)\$", re.S)
_IS = re.compile(r"\b(?:is|are|equals|be|=)\s+", re.IGNORECASE)
_PROSE = re.compile(r"[a-zA-Z]{3,}")
_FOREIGN = re.compile(r"[^\x00-\x7f°²³π√×÷−≤≥∞·…€£¥]")  # a letter of another script makes text prose ("3页")
_LATEX_WORDS = re.compile(r"\\(?:begin|end)\s*\{[a-zA-Z*]+\}|\\[a-zA-Z]+|\\text\s*\{[^{}]*\}|\b(?:sqrt|frac|sin|cos|tan|log|exp|infty|and|or)\b")
# A number in prose: thousands commas, a decimal point or a decimal comma ("2,74"), a fraction, a percent
# sign; a unit may follow directly ("1,000.99m²"), a Latin letter may not precede ("AZYUK2A" holds no number)
# but a CJK character may ("比例为13/28": Chinese writes no space before a number).
_LAST_NUMBER = re.compile(r"(?<![A-Za-z0-9_.,])(?:[-+]?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+,\d{1,2}(?![\d,])|\d+(?:\.\d+)?)"
                          r"(?:/\d+)?|[-+]?\.\d+)(?:\s?%)?(?![\d.]\d)")
POLICIES = ("train", "eval")


def _boxed(text: str) -> tuple[list[str], bool, list[str], int]:
    """All boxed contents, whether the last box is cut off, the text between consecutive boxes, and where
    the last complete box ends."""
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
    return found, cut, gaps[1:], last_end


_GAP_NOISE = re.compile(r"\$|\\[()\[\]]|\\q?quad|\\[,;: !]|\\text\s*\{([^{}]*)\}")
_NEXT_NAME = re.compile(r"(?:[a-zA-Z](?:_\{?\w+\}?)?|\([a-z,\s]+\))\s*=\s*$")


_PART = r"(?:for\s+)?(?:part\s+)?\(?[a-z]\)"
# commas / "and", with at most a unit before "and" ("papers and") or a part label ("for part (a) and")
_JOIN_WORDS = re.compile(rf"[\s,;.]*(?:(?:[a-zA-Z]+|{_PART})[\s,;.]*and\b)?[\s,;.]*(?:and\b)?(?:\s*{_PART})?[\s,;.]*")


def joins(gap: str) -> bool:
    """Whether the text between two boxes joins them into one collection: only commas / "and", maybe the
    next box's name ("\\) and \\( y_2 = "), a unit or a part label before the "and" ("papers and",
    "for part (a) and"); never a hedge, a number or other words ("and again")."""
    g = _NEXT_NAME.sub("", " ".join(_GAP_NOISE.sub(lambda m: f" {m.group(1) or ''} ", gap).split()))
    if _HEDGE.search(g) or len(g) > 40:
        return False
    return _JOIN_WORDS.fullmatch(g) is not None


def _last_boxed(found: list[str], gaps: list[str]) -> str | None:
    """The answer the boxes commit to: the last box, or the trailing run of boxes joined into a collection
    (one box per element: ``\\boxed{(2, 2)} \\text{ and } \\boxed{(6, 2)}``, see ``joins``); ``None``
    when the last two boxes are offered as alternatives ("either \\boxed{3} or \\boxed{4}")."""
    if gaps and _HEDGE.search(gaps[-1]):
        return None
    run = [found[-1]]
    for box, gap in zip(reversed(found[:-1]), reversed(gaps)):
        if not joins(gap):
            break
        run.insert(0, box)
    return ", ".join(run)


def boxed_answers(completion) -> list[str]:
    """Every complete boxed answer of a completion's tail, in order."""
    found, _, _, _ = _boxed(undouble(completion_text(completion)[-MAX_TAIL_CHARS:]))
    return [f for f in found if f]


def math_spans(text: str) -> list[str]:
    """The contents of every ``$...$`` / ``$$...$$`` / ``\\(...\\)`` / ``\\[...\\]`` span, in order."""
    return [next(g for g in m.groups() if g is not None).strip() for m in _SPANS.finditer(text)]


def _is_bare(text: str) -> bool:
    """A bare answer: a number or formula without prose (``\\frac34i``, ``-1 + sqrt(3)``, ``10, 4, -2``)."""
    return (0 < len(text) <= 200 and text.isprintable() and re.search(r"[\w\\]", text) is not None
            and "$" not in text and not _PROSE.search(_LATEX_WORDS.sub(" ", text)) and not _FOREIGN.search(text))


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
    if _PROSE.search(_LATEX_WORDS.sub(" ", answer)) and "$" not in answer and "\\" not in answer:
        numbers = _LAST_NUMBER.findall(answer)  # "Jane started growing it 3 hours ago": the one number
        if len(numbers) == 1:
            return numbers[0]
    choice = _CHOICE_LEAD.match(answer)
    if choice:
        return choice.group(1) or choice.group(2)
    return answer or None


_MARKER_KEYS = ("answer", "####", "a:", "a :", "答案", "réponse", "respuesta", "resposta", "antwort", "risposta", "ответ")


def _last_marker(text: str) -> list[re.Match]:
    """The last answer marker (a one-element list), or []. The marker regex is slow to run over a whole
    text (~50 us per GSM8K solution), so it runs from just before the last keyword first."""
    lower = text.lower()
    last = max(lower.rfind(k) for k in _MARKER_KEYS)
    if last < 0:
        return []
    found = list(_MARKER.finditer(text, max(0, last - 40)))
    return found[-1:] or list(_MARKER.finditer(text))[-1:]


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
    text = undouble(completion_text(completion)[-MAX_TAIL_CHARS:])
    markers = _last_marker(text)
    marked = _after_marker(text[markers[-1].end():]) if markers else None
    if "\\boxed" in text or "\\fbox" in text:
        found, cut, gaps, box_end = _boxed(text)
        # An answer marker after the last box overrules it when it states a value ("The answer is correct" does not).
        if (cut or not found or not markers or markers[-1].start() < box_end
                or not re.fullmatch(r'[^"$]*\d[^"$]*', marked or "")):
            if cut or not found:
                return None
            answer = _last_boxed(found, gaps)
            return _unhedge(answer) if answer else None
    if markers:
        return _unhedge(marked) if marked else None
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if lines:
        bold = _BOLD_CHOICE.match(lines[-1])
        if bold:
            return bold.group(1)
    escaped = text.replace("\\$", "\x02")
    spans = math_spans(escaped)
    if spans:
        # Numbers in the prose after the last math span ("... $d = 90/n$. Therefore, there are 12 sequences.",
        # "$x = 1/4$. Some other numbers are 1, 2, 3."): the text's last number is what "eval" reads, and
        # "train" sees no single committed answer.
        numbers = _LAST_NUMBER.findall(escaped[list(_SPANS.finditer(escaped))[-1].end():])
        if numbers:
            return numbers[-1] if policy == "eval" else None
        return _unhedge(spans[-1].replace("\x02", "\\$")) or None
    stripped = re.sub(r"^\\?\$(?=\d)", "", text.strip().rstrip(".").strip())  # "$50": a dollar amount
    if _is_bare(stripped):
        return _unhedge(stripped) or None
    with_unit = _BARE_WITH_UNIT.match(stripped)
    if with_unit:  # a completion that is only a number and its unit
        return stripped
    if policy == "eval" and "\\(" not in text and not re.search(r"\$\s*\n", text):  # no unreadable math
        numbers = _LAST_NUMBER.findall(text)
        return numbers[-1] if numbers else None
    return None
