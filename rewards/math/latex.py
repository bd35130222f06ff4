r"""Canonical text for an answer: LaTeX noise removed, units and markers stripped.

``normalize`` is pure string work (regexes over a bounded input) so it is cheap enough to run on every
call. It does not decide anything; it turns ``\left( \dfrac 12, 3\text{ cm} \right)`` into
``(\frac{1}{2},3)`` so that the structural parser and the evaluator see one spelling per concept.

Policies applied here (documented in ``docs/rewards.md``):

* units and trailing words after a number are dropped (``5\text{ cm}^2`` -> ``5``), as are degree
  marks (``90^\circ`` -> ``90``) and a leading currency sign (``\$18.90`` -> ``18.90``);
* a percent sign is dropped and reported (``12.5\%`` -> ``12.5``, percent=True); the comparison then
  accepts the bare number or the number divided by 100;
* a base subscript on digits is dropped (``52_8`` -> ``52``): the digits are compared, not the value;
* thousands separators are removed only when the whole answer is one such number (``10,\!080``,
  ``1 000``), never inside a list or tuple (``(2,100)`` stays a pair) and never after a comma followed by a
  space (``32, 349`` is a list); a decimal comma (``1,22``, ``0,111``) is read by ``equivalence``, and only
  against a number (``0,1`` may be the solutions 0 and 1);
* whitespace never merges numbers: ``4 4/9`` is the mixed number ``4 + 4/9``, ``2^6 3^5`` a product;
* "and" / "or" between items separate a list (``6 \text{ and } 8`` is ``6, 8``; a completion's "or"
  reaches here only as an enumeration of solutions, see ``extract``);
* degrees inside a trigonometric function are converted to radians (``\sin(90^\circ - x)``); elsewhere
  the degree mark is dropped; an ellipsis after digits (``2.3148\ldots``) is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

MAX_ANSWER_CHARS = 1000  # longer "answers" are compared as text only: no plausible answer is this long

_SPACES = re.compile(r"\\[,;:! ]|~|\\quad|\\qquad|[\u00a0\u2009\u202f\u2006\u2005]")
_DROP = re.compile(r"\\(?:left|right|big|Big|bigg|Bigg|displaystyle|textstyle)(?![a-zA-Z])|\\limits")
_TEXT_CMD = re.compile(r"\\(?:text|textbf|textit|textrm|textnormal|mathrm|mathbf|mathit|mbox|operatorname|mathsf|boldsymbol|hbox)\s*\{")
_DEGREE = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|\\circ|°|\\degree|\bdegrees?\b")
_PERCENT = re.compile(r"\\%|%|\bpercent\b")
_UNIT_TAIL = re.compile(r"(?<=[\d}.)\s])\s*[a-zA-Z]{2,}(?:\s+[a-zA-Z]{2,})*\.?\s*(?:\^\s*\{?\d\}?)?$")
_BASE_SUBSCRIPT = re.compile(r"^([0-9A-Fa-f]+)_\{?(\d+)\}?$")
_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_WORD_FUNCS = re.compile(r"(?<![\\a-zA-Z])(sqrt|pi|infty|sin|cos|tan|cot|sec|csc|ln|log|exp)(?![a-zA-Z])")
_KEEP_SPACE = re.compile(r"(?<=[a-zA-Z])\s+(?=[a-zA-Z])")
_REL = {"\\leqslant": "<=", "\\geqslant": ">=", "\\leq": "<=", "\\geq": ">=", "\\le": "<=", "\\ge": ">=",
        "\\neq": "!=", "\\ne": "!=", "\\lt": "<", "\\gt": ">", "≤": "<=", "≥": ">="}
_REL_PATTERN = re.compile("|".join(re.escape(k) + r"(?![a-zA-Z])" for k in _REL))
PLAIN_NUMBER = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)$")
_DOUBLED = re.compile(r"(?<!\\)\\\\(?=(?:boxed|fbox|frac|dfrac|tfrac|cfrac|sqrt|left|right|le|ge|leq|geq|lt|gt|neq|ne"
                      r"|text|textbf|mathrm|mathbf|pi|cdot|times|infty|in|cup|cap|circ|pm|mp|quad|ldots|dots"
                      r"|sin|cos|tan|log|ln|begin|end)(?![a-zA-Z]))")
_TRIG = re.compile(r"\\?(?:sin|cos|tan|cot|sec|csc)(?![a-zA-Z])")
_DEGREES_IN_TRIG = re.compile(r"(\d+(?:\.\d+)?)\s*(?:\^\s*\{?\s*\\circ\s*\}?|°|\\degree)")
_ELLIPSIS = re.compile(r"(?<=\d)\s*(?:\\[lc]?dots|\.\.\.|…)")
_CONNECTIVE = re.compile(r"\s*(?<![a-zA-Z\\])\b(?:and|or)\b(?![a-zA-Z])\s*")
_MIXED = re.compile(r"(?<![\d.^_{])(\d+)\s+(\d+)\s*/\s*(\d+)(?![\d.])")
_LOCAL_THOUSANDS = re.compile(r"(?<![\d^_.{])\d{1,3}(?: \d{3})+(?![\d./^])")
_SPACED_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(?: \d{3})+(?:\.\d+)?$")


def undouble(text: str) -> str:
    r"""Text whose LaTeX commands were escaped twice (``\\frac{1}{2}``) with single backslashes; other text
    unchanged (a ``\\`` row break followed by a space or digit is not a command)."""
    return _DOUBLED.sub(r"\\", text) if "\\\\" in text else text


@dataclass(frozen=True)
class Normalized:
    text: str
    percent: bool = False
    decimal_comma: bool = False  # written "1,22" (no space): a decimal comma when compared with a number


def unwrap_command(text: str, opener: re.Pattern) -> str:
    """Replace ``\\cmd{body}`` by ``body`` for every match of ``opener`` (which ends at the brace)."""
    out, pos = [], 0
    for _ in range(200):  # bounded: each pass removes one command
        m = opener.search(text, pos)
        if not m:
            break
        end = matching_brace(text, m.end() - 1)
        if end is None:
            break
        out.append(text[pos:m.start()])
        out.append(text[m.end():end])
        pos = end + 1
    out.append(text[pos:])
    return "".join(out)


def matching_brace(text: str, i: int) -> int | None:
    """Index of the ``}`` closing the ``{`` at ``i``, or None when unbalanced."""
    depth = 0
    for j in range(i, len(text)):
        c = text[j]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return j
    return None


def _brace_args(text: str, command: str, n_args: int) -> str:
    r"""Rewrite ``\frac12`` / ``\frac 5 9`` / ``\sqrt2`` to their braced forms."""
    out, pos = [], 0
    while True:
        k = text.find(command, pos)
        if k < 0 or text[k + len(command):k + len(command) + 1].isalpha():
            if k < 0:
                out.append(text[pos:])
                return "".join(out)
            out.append(text[pos:k + len(command)])
            pos = k + len(command)
            continue
        out.append(text[pos:k + len(command)])
        j = k + len(command)
        for _ in range(n_args):
            while j < len(text) and text[j] == " ":
                j += 1
            if j >= len(text):
                break
            if text[j] == "{":
                end = matching_brace(text, j)
                if end is None:
                    break
                out.append(text[j:end + 1])
                j = end + 1
            elif text[j] == "[" and command == "\\sqrt":
                end = text.find("]", j)
                if end < 0:
                    break
                out.append(text[j:end + 1])
                j = end + 1
                while j < len(text) and text[j] == " ":
                    j += 1
                if j < len(text) and text[j] != "{":
                    out.append("{" + text[j] + "}")
                    j += 1
                elif j < len(text):
                    end = matching_brace(text, j)
                    if end is None:
                        break
                    out.append(text[j:end + 1])
                    j = end + 1
            elif text[j] == "(":  # plain-text sqrt(51)
                depth, end = 0, None
                for e in range(j, len(text)):
                    depth += {"(": 1, ")": -1}.get(text[e], 0)
                    if depth == 0:
                        end = e
                        break
                if end is None:
                    break
                out.append("{" + text[j + 1:end] + "}")
                j = end + 1
            elif text[j] == "\\":
                m = re.match(r"\\[a-zA-Z]+", text[j:])
                out.append("{" + m.group(0) + "}" if m else text[j])
                j += len(m.group(0)) if m else 1
            else:
                out.append("{" + text[j] + "}")
                j += 1
        pos = j


def strip_math_delimiters(text: str) -> str:
    s = text.strip()
    for _ in range(3):
        before = s
        for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
            if s.startswith(left) and s.endswith(right) and len(s) >= len(left) + len(right):
                s = s[len(left):len(s) - len(right)].strip()
        s = s.rstrip(".").rstrip()
        if s == before:
            break
    return s


@lru_cache(maxsize=8192)  # golds repeat across a group of samples; normalize is pure
def normalize(answer: str) -> Normalized:
    r"""Canonical spelling of one answer.

    >>> normalize(r"\left( \dfrac 12, 3 \right)").text
    '(\\frac{1}{2},3)'
    >>> normalize(r"12.5\%")
    Normalized(text='12.5', percent=True, decimal_comma=False)
    >>> normalize(r"\$32,\!348").text, normalize(r"864 \mbox{ inches}^2").text, normalize(r"90^\circ").text
    ('32348', '864', '90')
    """
    if PLAIN_NUMBER.match(answer):
        return Normalized(answer.lstrip("+"))
    s = strip_math_delimiters(undouble(str(answer)))
    if len(s) > MAX_ANSWER_CHARS:
        return Normalized(" ".join(s.split()))
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("\\cfrac", "\\frac")
    s = s.replace("\\bigl", "").replace("\\bigr", "").replace("{,}", ",")
    s = re.sub(r",\\!\s*", ",", s)
    s = _SPACES.sub(" ", s.replace("\\\\", "\x01")).replace("\x01", "\\\\")  # keep row breaks
    s = _DROP.sub("", s)
    s = unwrap_command(s, _TEXT_CMD)
    s = s.replace("\\{", "⦃").replace("\\}", "⦄").replace("\\lbrace", "⦃").replace("\\rbrace", "⦄")
    if _TRIG.search(s):
        s = _DEGREES_IN_TRIG.sub(r"(\1*\\pi/180)", s)
    s = _DEGREE.sub("", s)
    s = _ELLIPSIS.sub("", s)
    if re.search(r"\b(?:and|or)\b", s):
        s = re.sub(r",(?:\s*,)+", ",", _CONNECTIVE.sub(",", s))  # "7, -2, \text{ and } -5"
    percent = bool(_PERCENT.search(s))
    s = _PERCENT.sub("", s)
    s = s.replace("\\$", "").replace("$", "")
    s = re.sub(r"^(?:\\approx|≈)\s*", "", s.strip())
    s = s.replace("\\cdot", "*").replace("\\times", "*").replace("×", "*").replace("\\ast", "*")
    s = s.replace("\\div", "/").replace("÷", "/").replace("**", "^").replace("−", "-").replace("\\mathrm{e}", "e")
    s = s.replace("\\infin", "\\infty").replace("∞", "\\infty").replace("π", "\\pi").replace("√", "\\sqrt")
    s = _REL_PATTERN.sub(lambda m: _REL[m.group(0)], s)
    s = _WORD_FUNCS.sub(r"\\\1", s)
    s = _brace_args(s, "\\frac", 2)
    s = _brace_args(s, "\\sqrt", 1)
    s = s.strip().rstrip(".").strip()
    s = re.sub(r"(?<=\d)\\$", "", s)  # "185\": a stray backslash
    s = _UNIT_TAIL.sub("", s) if re.search(r"\d", s) else s
    s = re.sub(r"\s+", " ", s).strip()
    spaced_comma = ", " in s
    if _SPACED_THOUSANDS.match(s):
        s = s.replace(" ", "")
    s = _LOCAL_THOUSANDS.sub(lambda m: m.group(0).replace(" ", ""), s)  # "x = 1 000"
    s = _MIXED.sub(r"(\1+\2/\3)", s)
    s = re.sub(r"(?<=\d) (?=\d)", "*", s)  # "2^6 3^5": a product, never one number
    s = _KEEP_SPACE.sub("\x00", s).replace(" ", "").replace("\x00", " ")
    m = _BASE_SUBSCRIPT.match(s)
    if m:
        s = m.group(1)
    if _THOUSANDS.match(s) and not spaced_comma and not s.lstrip("+-").startswith("0,"):
        s = s.replace(",", "")
    return Normalized(s, percent, bool(re.fullmatch(r"[-+]?\d+,\d+", s)) and not spaced_comma)
