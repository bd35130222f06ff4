import itertools
import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rewards.math import is_equivalent
from rlvr.metrics import bootstrap_ci, maj_at_k, pass_at_k


def _pass_at_k_enumerated(n, c, k):
    flags = [True] * c + [False] * (n - c)
    subsets = list(itertools.combinations(range(n), k))
    return sum(any(flags[i] for i in s) for s in subsets) / len(subsets)


@given(st.integers(1, 9).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n), st.integers(1, n))))
def test_pass_at_k_equals_closed_form_and_enumeration(nck):
    n, c, k = nck
    closed = 1 - math.comb(n - c, k) / math.comb(n, k)
    assert pass_at_k(n, c, k) == pytest.approx(closed, abs=1e-12)
    assert pass_at_k(n, c, k) == pytest.approx(_pass_at_k_enumerated(n, c, k), abs=1e-12)


def test_pass_at_k_rejects_bad_counts():
    with pytest.raises(ValueError):
        pass_at_k(4, 5, 1)
    with pytest.raises(ValueError):
        pass_at_k(4, 1, 5)


def test_maj_at_k_uses_equivalence_and_is_exact_at_n():
    answers = ["0.5", r"\frac{1}{2}", "3", "1/2", "3"]
    correct = [True, True, False, True, False]
    assert maj_at_k(answers, correct, 5, equivalent=is_equivalent) == 1.0
    assert maj_at_k(answers, correct, 5) == 0.0  # by plain text "3" wins the vote
    assert maj_at_k(answers, correct, 1, equivalent=is_equivalent, resamples=2000) == pytest.approx(0.6, abs=0.04)


def test_bootstrap_ci_brackets_the_mean():
    values = [1.0] * 30 + [0.0] * 70
    low, high = bootstrap_ci(values)
    assert low < 0.3 < high and high - low < 0.25
    assert bootstrap_ci([0.5, 0.5]) == (0.5, 0.5)


def test_leader_probability_matches_monte_carlo():
    from rlvr.testtime import leader_probability

    rng = random.Random(0)
    for v1, v2 in [(3, 1), (5, 2), (2, 2)]:
        draws = sum(rng.betavariate(v1 + 1, v2 + 1) > 0.5 for _ in range(40_000)) / 40_000
        assert leader_probability(v1, v2) == pytest.approx(draws, abs=0.01)


def test_rerank_at_k_is_exact_at_n_and_a_probability_below():
    from rlvr.metrics import rerank_at_k

    scores, correct = [0.9, 0.1, 0.5, 0.2], [False, True, True, False]
    assert rerank_at_k(scores, correct, 4) == 0.0  # the best-scored sample is wrong
    assert 0.0 < rerank_at_k(scores, correct, 2) < 1.0
    assert rerank_at_k([0.1, 0.2], [True, True], 1) == 1.0
