"""The math reward: ``verify`` one completion, ``accuracy_reward`` a batch (TRL's reward contract).

``verify_batch`` verifies large batches in a process pool over every core (shared among the processes a
launcher started on the machine); small ones in the calling process (starting workers costs more than it
saves). ``accuracy_reward`` stays in-process unless given ``num_workers``. Inside a daemonic worker (e.g.
rlvr's own reward pool) a batch always runs in-process.
"""

from __future__ import annotations

import re
from fractions import Fraction

from rewards.math.equivalence import TIME_LIMIT, is_equivalent
from rewards.math.evaluate import EvalError, evaluate
from rewards.math.extract import _MARKER, POLICIES, _boxed, boxed_answers, extract_answer, joins, math_spans
from rewards.math.latex import normalize, undouble
from rewards.pool import default_workers, parallel_map

POOL_MIN_BATCH = 256
_WORDS = re.compile(r"\b[a-zA-Z]{2,}\b")
_CONNECTIVES = re.compile(r"^(?:\s|,|;|and|or|\\text\s*\{\s*(?:and|or)\s*\})*$", re.IGNORECASE)


def parse_number(text: str) -> Fraction | None:
    r"""The exact rational value of a plain numeric answer, or ``None``.

    >>> parse_number("1,234"), parse_number(r"\frac{3}{4}"), parse_number("x")
    (Fraction(1234, 1), Fraction(3, 4), None)
    """
    try:
        result = evaluate(normalize(str(text)).text)
    except (EvalError, ArithmeticError, ValueError, RecursionError):
        return None
    value = result.values[0]
    return value.q if not result.has_vars and value.q is not None else None


def gold_answer(gold) -> str | None:
    r"""The reference answer from a data set's answer field.

    GSM8K golds carry a solution ending in ``#### 72``; MATH solutions carry ``\boxed{}``; AMC golds are
    floats such as ``142.0``. Several boxes in a short gold are one collection (``\boxed{1} papers and
    \boxed{2} bins``); a worked solution with an answer marker gives what the marker commits to.
    """
    if gold is None:
        return None
    text = undouble(str(gold).strip())
    if "\\boxed" in text:
        boxes = boxed_answers(text)
        _, _, gaps, _ = _boxed(text)
        if len(boxes) > 1 and len(gaps) == len(boxes) - 1 and all(joins(g) for g in gaps):
            return ", ".join(boxes)  # "\boxed{2}, \boxed{3}": a collection answered one box per element
        return extract_answer(text)
    if "####" in text or _MARKER.search(text):
        return extract_answer(text)
    spans = math_spans(text)
    if len(spans) > 1 and _CONNECTIVES.match(re.sub(r"\$+[^$]*\$+", " ", text)):
        return ", ".join(spans)  # "$1$ and $2$ and $3$"
    if re.search(r"\d", text) and len(_WORDS.findall(re.sub(r"\\[a-zA-Z]+|\$[^$]*\$", " ", text))) >= 2:
        return extract_answer(text, policy="eval") or text  # a sentence: "The number is 4."
    return text or None


def verify(completion, gold, *, policy: str = "train", timeout: float = TIME_LIMIT) -> bool:
    """Extract the completion's final answer and compare it with the reference answer.

    ``policy`` is ``"train"`` (the reward) or ``"eval"`` (benchmarks: also reads a completion's last number
    when it commits to no answer, as lm-eval and Math-Verify do). Several boxes: see ``extract``.

    >>> verify("The answer is 72.", "Natalia sold 48/2 = 24 clips... #### 72")
    True
    >>> verify(r"So $x=\\frac{1}{2}$, i.e. The final answer is $\\boxed{0.5}$.", r"\\frac12")
    True
    >>> verify(r"\\boxed{(2, 2)} \\quad \\text{and} \\quad \\boxed{(6, 2)}", "(2, 2), (6, 2)")
    True
    """
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
    reference = gold_answer(gold)
    predicted = extract_answer(completion, policy=policy)
    if reference is None or predicted is None:
        return False
    return is_equivalent(predicted, reference, timeout=timeout)


def _score(item) -> float | None:
    completion, gold, policy = item
    return None if gold_answer(gold) is None else float(verify(completion, gold, policy=policy))


def verify_batch(completions, golds, *, policy: str = "train", num_workers: int | None = None) -> list[float | None]:
    """Score many (completion, gold) pairs under ``policy``; ``num_workers`` processes (default: all cores)
    when the batch is large, in-process otherwise."""
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
    pairs = [(c, g, policy) for c, g in zip(completions, golds)]
    workers = num_workers or default_workers()
    return parallel_map(_score, pairs, num_workers=workers, min_items=POOL_MIN_BATCH,
                        chunksize=max(16, len(pairs) // (4 * workers)))


def accuracy_reward(completions, answer=None, solution=None, *, policy: str = "train", **kwargs) -> list[float | None]:
    """1.0 when a completion's final answer equals the reference, else 0.0.

    The reference column is ``answer`` (GSM8K ``... #### 72``, MATH-500, AIME, AMC) or, when a data set
    has none, ``solution`` (a worked solution with ``\\boxed{}``, as in MATH and open-r1's data).
    ``None`` when the reference itself is missing or empty (the sample cannot be scored). Completions
    may be strings or chat message lists. ``num_workers=N`` verifies batches of 256 or more in N processes
    (default: in-process; ``verify_batch`` defaults to every core). ``policy="eval"`` scores as benchmarks do
    (see ``verify``); the default ``"train"`` never rewards an uncommitted last number.

    >>> accuracy_reward([" 19", " 18", [{"role": "assistant", "content": "19"}]], ["19", "19", "19"])
    [1.0, 0.0, 1.0]
    >>> accuracy_reward([" 1"], [None])
    [None]
    """
    reference = answer if answer is not None else solution
    if reference is None:
        raise ValueError("accuracy_reward needs an 'answer' (or 'solution') column")
    if len(completions) != len(reference):
        raise ValueError(f"accuracy_reward got {len(completions)} completions but {len(reference)} answers")
    # In-process unless asked: a trainer runs rewards in its own pool (reward_num_workers) and one
    # trainer process per GPU must not each start a pool of every core.
    return verify_batch(completions, reference, policy=policy, num_workers=kwargs.get("num_workers") or 1)
