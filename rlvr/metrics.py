"""Sampling-based evaluation metrics: unbiased pass@k, (weighted) maj@k, rerank@k, bootstrap intervals.

Pure functions of per-problem samples; no model, no torch.
"""

from __future__ import annotations

import itertools
import math
import random
import statistics
from collections.abc import Callable, Sequence

from rlvr.testtime import best_of_n, majority_vote


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples of which c are correct (Chen et al. 2021, "Evaluating Large
    Language Models Trained on Code", eq. 1): ``1 - C(n-c, k) / C(n, k)``, computed in exact integers
    with one rounding at the end, so pass@1 is exactly the float c / n (as maj@1 and rerank@1 are).

    >>> pass_at_k(10, 0, 5), pass_at_k(10, 10, 1), round(pass_at_k(4, 1, 2), 6)
    (0.0, 1.0, 0.5)
    """
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    total = math.comb(n, k)
    return (total - math.comb(n - c, k)) / total


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


# Student's t 0.975 quantiles by degrees of freedom: seeds are few, so a normal 1.96 would be too narrow.
_T_975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228}


def t_interval(values: Sequence[float]) -> float | None:
    """Half-width of the 95% t-interval of the mean of a few runs (seeds); None below two runs.

    >>> round(t_interval([0.5, 0.6, 0.7]), 4)
    0.2484
    """
    if len(values) < 2:
        return None
    return _T_975.get(len(values) - 1, 1.96) * statistics.stdev(values) / math.sqrt(len(values))


def majority_correct(answers: Sequence, correct: Sequence[bool], equivalent: Callable | None = None,
                     weights: Sequence[float] | None = None) -> bool:
    """Whether the (weighted) majority-vote answer of these samples is a correct one."""
    vote = majority_vote(answers, equivalent=equivalent, weights=weights)
    if vote.answer is None:
        return False
    return any(ok for a, ok in zip(answers, correct) if a is not None and vote.same(a, vote.answer))


# Up to this many k-subsets of a problem's n samples, a @k metric averages over all of them (exact);
# beyond, over random draws (with n = 16: k = 2's 120 subsets exact, k = 4's 1,820 sampled). k = 1 is
# always exact, so maj@1 = rerank@1 = pass@1 as their definitions require: 100 random draws left
# them apart by sampling noise (maj@1 22.9% vs pass@1 22.8%).
EXACT_SUBSETS = 500


def _mean_over_subsets(n: int, k: int, hit: Callable[[list[int]], bool], resamples: int, seed: int) -> float:
    """The mean of ``hit`` over the k-subsets of range(n): every subset when k = 1 or there are at
    most ``EXACT_SUBSETS``, otherwise ``resamples`` drawn without replacement."""
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n={n}, got k={k}")
    if k == 1 or math.comb(n, k) <= EXACT_SUBSETS:
        subsets = [list(s) for s in itertools.combinations(range(n), k)]
    else:
        rng = random.Random(seed)
        subsets = [rng.sample(range(n), k) for _ in range(resamples)]
    return sum(bool(hit(s)) for s in subsets) / len(subsets)


def maj_at_k(answers: Sequence, correct: Sequence[bool], k: int, equivalent: Callable | None = None,
             resamples: int = 100, seed: int = 0, weights: Sequence[float] | None = None) -> float:
    """maj@k of one problem: the probability that a (weighted) majority vote over k of its n samples,
    drawn without replacement, picks a correct answer. Exact (every k-subset) while C(n, k) <=
    ``EXACT_SUBSETS``, so maj@1 equals the fraction correct; otherwise estimated over ``resamples`` draws.

    >>> maj_at_k(["3", "4", "3"], [True, False, True], 1)
    0.6666666666666666
    """

    def hit(idx: list[int]) -> bool:
        w = None if weights is None else [weights[i] for i in idx]
        return majority_correct([answers[i] for i in idx], [correct[i] for i in idx], equivalent, w)

    return _mean_over_subsets(len(answers), k, hit, resamples, seed)


def rerank_at_k(scores: Sequence[float], correct: Sequence[bool], k: int, resamples: int = 100,
                seed: int = 0) -> float:
    """rerank@k of one problem: the probability that the best-scored of k samples (drawn without
    replacement; first on ties) is correct; exact while C(n, k) <= ``EXACT_SUBSETS``.

    >>> rerank_at_k([0.1, 0.9, 0.5], [False, True, False], 3)
    1.0
    """

    def hit(idx: list[int]) -> bool:
        return correct[idx[best_of_n(idx, [scores[i] for i in idx])[0]]]

    return _mean_over_subsets(len(scores), k, hit, resamples, seed)
