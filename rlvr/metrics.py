"""Sampling-based evaluation metrics: unbiased pass@k, (weighted) maj@k, rerank@k, bootstrap intervals.

Pure functions of per-problem samples; no model, no torch.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

from rlvr.testtime import best_of_n, majority_vote


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples of which c are correct (Chen et al. 2021, "Evaluating Large
    Language Models Trained on Code", eq. 1): ``1 - C(n-c, k) / C(n, k)``, computed as a product
    so it stays exact-ish for large n.

    >>> pass_at_k(10, 0, 5), pass_at_k(10, 10, 1), round(pass_at_k(4, 1, 2), 6)
    (0.0, 1.0, 0.5)
    """
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


def bootstrap_ci(values: Sequence[float], confidence: float = 0.95, resamples: int = 1000,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of per-problem ``values`` (problems resampled)."""
    if not values:
        return (float("nan"), float("nan"))
    rng = random.Random(seed)
    n = len(values)
    means = sorted(sum(values[rng.randrange(n)] for _ in range(n)) / n for _ in range(resamples))
    low = means[int((1 - confidence) / 2 * (resamples - 1))]
    high = means[int((1 + confidence) / 2 * (resamples - 1))]
    return (low, high)


def majority_correct(answers: Sequence, correct: Sequence[bool], equivalent: Callable | None = None,
                     weights: Sequence[float] | None = None) -> bool:
    """Whether the (weighted) majority-vote answer of these samples is a correct one."""
    vote = majority_vote(answers, equivalent=equivalent, weights=weights)
    if vote.answer is None:
        return False
    return any(ok for a, ok in zip(answers, correct) if a is not None and vote.same(a, vote.answer))


def maj_at_k(answers: Sequence, correct: Sequence[bool], k: int, equivalent: Callable | None = None,
             resamples: int = 100, seed: int = 0, weights: Sequence[float] | None = None) -> float:
    """maj@k of one problem: the probability that a (weighted) majority vote over k of its n samples,
    drawn without replacement, picks a correct answer; estimated over ``resamples`` random draws
    (exact when k == n)."""
    n = len(answers)
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n={n}, got k={k}")
    if k == n:
        return float(majority_correct(answers, correct, equivalent, weights))
    rng = random.Random(seed)
    hits = 0
    for _ in range(resamples):
        idx = rng.sample(range(n), k)
        w = None if weights is None else [weights[i] for i in idx]
        hits += majority_correct([answers[i] for i in idx], [correct[i] for i in idx], equivalent, w)
    return hits / resamples


def rerank_at_k(scores: Sequence[float], correct: Sequence[bool], k: int, resamples: int = 100,
                seed: int = 0) -> float:
    """rerank@k of one problem: the probability that the best-scored of k samples (drawn without
    replacement; first on ties) is correct; exact when k == n.

    >>> rerank_at_k([0.1, 0.9, 0.5], [False, True, False], 3)
    1.0
    """
    n = len(scores)
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n={n}, got k={k}")

    if k == n:
        return float(correct[best_of_n(list(range(n)), list(scores))[0]])
    rng = random.Random(seed)
    hits = 0
    for _ in range(resamples):
        idx = rng.sample(range(n), k)
        best = best_of_n(idx, [scores[i] for i in idx])[0]
        hits += bool(correct[idx[best]])
    return hits / resamples
