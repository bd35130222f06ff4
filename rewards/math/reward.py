"""The math reward: ``verify`` one completion, ``accuracy_reward`` a batch (TRL's reward contract).

``verify_batch`` verifies large batches in a process pool over every core (shared among the processes a
launcher started on the machine); small ones in the calling process (starting workers costs more than it
saves). ``accuracy_reward`` stays in-process unless given ``num_workers``. Inside a daemonic worker (e.g.
rlvr's own reward pool) a batch always runs in-process.
"""

from __future__ import annotations

from fractions import Fraction

from rewards.math.equivalence import TIME_LIMIT, is_equivalent
from rewards.math.evaluate import EvalError, evaluate
from rewards.math.extract import extract_answer
from rewards.math.latex import normalize
from rewards.pool import default_workers, parallel_map

POOL_MIN_BATCH = 256


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

    GSM8K golds carry a solution ending in ``#### 72``; MATH solutions carry ``\\boxed{}``; AMC golds are
    floats such as ``142.0``.
    """
    if gold is None:
        return None
    text = str(gold).strip()
    if "####" in text or "\\boxed" in text:
        return extract_answer(text)
    return text or None


def verify(completion, gold, *, timeout: float = TIME_LIMIT) -> bool:
    """Extract the completion's final answer and compare it with the reference answer.

    >>> verify("The answer is 72.", "Natalia sold 48/2 = 24 clips... #### 72")
    True
    >>> verify(r"So $x=\\frac{1}{2}$, i.e. The final answer is $\\boxed{0.5}$.", r"\\frac12")
    True
    """
    reference = gold_answer(gold)
    predicted = extract_answer(completion)
    return reference is not None and predicted is not None and is_equivalent(predicted, reference, timeout=timeout)


def _score(pair) -> float | None:
    completion, gold = pair
    return None if gold_answer(gold) is None else float(verify(completion, gold))


def verify_batch(completions, golds, *, num_workers: int | None = None) -> list[float | None]:
    """Score many (completion, gold) pairs; ``num_workers`` processes (default: all cores) when the
    batch is large, in-process otherwise."""
    pairs = list(zip(completions, golds))
    workers = num_workers or default_workers()
    return parallel_map(_score, pairs, num_workers=workers, min_items=POOL_MIN_BATCH,
                        chunksize=max(16, len(pairs) // (4 * workers)))


def accuracy_reward(completions, answer=None, solution=None, **kwargs) -> list[float | None]:
    """1.0 when a completion's final answer equals the reference, else 0.0.

    The reference column is ``answer`` (GSM8K ``... #### 72``, MATH-500, AIME, AMC) or, when a data set
    has none, ``solution`` (a worked solution with ``\\boxed{}``, as in MATH and open-r1's data).
    ``None`` when the reference itself is missing or empty (the sample cannot be scored). Completions
    may be strings or chat message lists. ``num_workers=N`` verifies batches of 256 or more in N processes
    (default: in-process; ``verify_batch`` defaults to every core).

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
    return verify_batch(completions, reference, num_workers=kwargs.get("num_workers") or 1)
