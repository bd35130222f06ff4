"""A numeric exact-answer verifier: extract -> compare.

This is the minimal verifier the toy arithmetic task and GSM8K need: the final answer is a number
(integer, decimal or fraction) and equality is exact (``fractions.Fraction``, no rounding). Answers
that are not numbers fall back to whitespace-normalised string equality. The full LaTeX/symbolic
verifier grows behind these same entry points.

Extraction policy (``extract_answer``), first match wins:

1. the content of the last ``\\boxed{...}`` (nested braces allowed);
2. the text after the last GSM8K marker ``#### ``;
3. the text after the last "answer is" / "Answer:" / "A:" marker, up to the end of its line;
4. the whole completion, when it is nothing but a number (the toy task's `` 19``).

A completion that commits to none of these scores 0: the last number in a chain of thought is not
taken as an answer, so rambling cannot be rewarded by luck.
"""

from __future__ import annotations

import re
from fractions import Fraction

from rewards.contract import completion_text

# Long inputs are cut before any regex runs, so a 1 MB output costs the same as a 4 kB one.
_MAX_TAIL_CHARS = 4096
_MAX_NUMBER_CHARS = 64  # longer digit strings are not plausible answers; avoids huge int parsing

_MARKER = re.compile(r"(?:answer\s+is|answer\s*:|\bA\s*:)\s*", re.IGNORECASE)
_NUMBER = re.compile(
    r"^[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:/[-+]?\d+(?:\.\d+)?)?$"
)
_FRAC = re.compile(r"^\\[dt]?frac\{([^{}]+)\}\{([^{}]+)\}$")


def _last_boxed(text: str) -> str | None:
    start = text.rfind("\\boxed")
    if start < 0:
        return None
    i = text.find("{", start)
    if i < 0:
        return None
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j]
    return None  # unbalanced: the completion was cut off inside the box


def extract_answer(completion) -> str | None:
    r"""The final answer a completion commits to, or ``None``.

    >>> extract_answer(" 19")
    '19'
    >>> extract_answer("so the total is 3+4 = 7. #### 7")
    '7'
    >>> extract_answer(r"We get \boxed{\frac{1}{2}}.")
    '\\frac{1}{2}'
    >>> extract_answer("I think it is 3, maybe 4") is None
    True
    """
    text = completion_text(completion)[-_MAX_TAIL_CHARS:]
    boxed = _last_boxed(text)
    if boxed is not None:
        return boxed.strip() or None
    if "####" in text:
        tail = text.rsplit("####", 1)[1].strip()
        return tail.splitlines()[0].strip() if tail else None
    markers = list(_MARKER.finditer(text))
    if markers:
        rest = text[markers[-1].end() :].strip()
        line = rest.splitlines()[0].strip() if rest else ""
        return line.rstrip(".").strip() or None
    stripped = text.strip().rstrip(".")
    if parse_number(stripped) is not None:
        return stripped
    return None


def parse_number(text: str) -> Fraction | None:
    r"""An exact number from ``text``, or ``None`` when it is not a plain number.

    Accepts signs, thousands separators, decimals, ``a/b``, ``\frac{a}{b}``, a leading ``$`` and
    a trailing ``%`` (read as the bare number: ``12.5%`` equals ``12.5``).

    >>> parse_number("1,234")
    Fraction(1234, 1)
    >>> parse_number(r"\frac{3}{4}")
    Fraction(3, 4)
    >>> parse_number("0.5") == parse_number("1/2")
    True
    >>> parse_number("x") is None
    True
    """
    s = text.strip().replace(" ", "").replace("\\!", "").replace("{,}", ",")
    s = s.removeprefix("$").removesuffix("$").removeprefix("\\$").rstrip(".")
    s = s.removesuffix("\\%").removesuffix("%")
    if not s or len(s) > _MAX_NUMBER_CHARS:
        return None
    frac = _FRAC.match(s)
    if frac:
        num, den = parse_number(frac.group(1)), parse_number(frac.group(2))
        if num is None or den is None or den == 0:
            return None
        return num / den
    if not _NUMBER.match(s) or not any(c.isdigit() for c in s):
        return None
    s = s.replace(",", "")
    try:
        if "/" in s:
            num, den = s.split("/")
            den_value = Fraction(den)
            return Fraction(num) / den_value if den_value != 0 else None
        return Fraction(s)
    except (ValueError, ZeroDivisionError):
        return None


def _normalise_text(text: str) -> str:
    return " ".join(text.strip().rstrip(".").split()).lower()


def is_equivalent(a: str, b: str) -> bool:
    """Whether two answers mean the same value (exact for numbers, normalised text otherwise).

    >>> is_equivalent("0.5", "1/2")
    True
    >>> is_equivalent("1,000", "1000.0")
    True
    >>> is_equivalent("3", "3.0001")
    False
    """
    x, y = parse_number(a), parse_number(b)
    if x is not None and y is not None:
        return x == y
    if x is not None or y is not None:
        return False
    return _normalise_text(a) == _normalise_text(b) != ""


def _gold_answer(gold: str) -> str | None:
    """The reference answer: GSM8K-style golds carry a solution ending in ``#### 72``."""
    if gold is None:
        return None
    gold = str(gold)
    if "####" in gold:
        return extract_answer(gold)
    return gold.strip() or None


def verify(completion, gold: str) -> bool:
    """Extract the completion's final answer and compare it with the reference answer.

    >>> verify("The answer is 72.", "Natalia sold 48/2 = 24 clips... #### 72")
    True
    """
    reference = _gold_answer(gold)
    predicted = extract_answer(completion)
    return reference is not None and predicted is not None and is_equivalent(predicted, reference)


def accuracy_reward(completions, answer, **kwargs) -> list[float | None]:
    """1.0 when a completion's final answer equals the reference ``answer`` column, else 0.0.

    ``None`` when the reference itself is missing (the sample cannot be scored).

    >>> accuracy_reward([" 19", " 18", [{"role": "assistant", "content": "19"}]], ["19", "19", "19"])
    [1.0, 0.0, 1.0]
    >>> accuracy_reward([" 1"], [None])
    [None]
    """
    if len(completions) != len(answer):
        raise ValueError(f"accuracy_reward got {len(completions)} completions but {len(answer)} answers")
    return [
        None if _gold_answer(gold) is None else float(verify(completion, gold))
        for completion, gold in zip(completions, answer)
    ]
