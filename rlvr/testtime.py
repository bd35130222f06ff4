"""Test-time scaling primitives: equivalence-aware (weighted) voting and an adaptive stopping rule.

Pure functions over answers; sampling and the evaluation script build on them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


def _same_text(a, b) -> bool:
    return str(a).strip() == str(b).strip()


@dataclass
class Cluster:
    answer: object  # the representative: the first answer that opened the cluster
    members: list[int] = field(default_factory=list)  # indices into the voted answers
    weight: float = 0.0


@dataclass
class Vote:
    answer: object | None  # the winning cluster's representative (None: nothing to vote on)
    count: int  # answers in the winning cluster
    weight: float  # their summed weight (= count when unweighted)
    share: float  # weight / total weight of all non-None answers
    clusters: list[Cluster]  # every cluster, winner first
    equivalent: Callable = _same_text

    def same(self, a, b) -> bool:
        return self.equivalent(a, b)


def majority_vote(answers: Sequence, *, equivalent: Callable | None = None,
                  weights: Sequence[float] | None = None) -> Vote:
    """Cluster ``answers`` by ``equivalent`` (default: equal stripped text) and pick the heaviest
    cluster. ``None`` answers (nothing extracted) do not vote.

    Clustering is greedy in order: an answer joins the first cluster whose representative it is
    equivalent to. Tie-break, deterministic: larger weight, then more members, then the cluster
    that appeared first.

    >>> from rewards.math import is_equivalent
    >>> majority_vote(["0.5", "1/2", "3", "0.5"], equivalent=is_equivalent).count
    3
    """
    same = equivalent or _same_text
    weights = [1.0] * len(answers) if weights is None else list(weights)
    if len(weights) != len(answers):
        raise ValueError(f"{len(weights)} weights for {len(answers)} answers")
    clusters: list[Cluster] = []
    for i, answer in enumerate(answers):
        if answer is None:
            continue
        home = next((c for c in clusters if same(answer, c.answer)), None)
        if home is None:
            home = Cluster(answer)
            clusters.append(home)
        home.members.append(i)
        home.weight += weights[i]
    if not clusters:
        return Vote(None, 0, 0.0, 0.0, [], same)
    order = sorted(range(len(clusters)), key=lambda j: (-clusters[j].weight, -len(clusters[j].members), j))
    ranked = [clusters[j] for j in order]
    total = sum(c.weight for c in clusters)
    best = ranked[0]
    return Vote(best.answer, len(best.members), best.weight, best.weight / total if total else 0.0, ranked, same)


def leader_probability(leader_votes: int, runner_up_votes: int) -> float:
    """P(p_leader > p_runner_up) under a uniform prior, Beta(v1 + 1, v2 + 1) on the leader's share
    of the two (the Beta stopping criterion of Aggarwal et al. 2023, "Let's Sample Step by Step:
    Adaptive-Consistency for Efficient Reasoning"). Exact for integer counts:
    ``P(X > 1/2) = sum_{j=0}^{a-1} C(n, j) / 2^n`` with a = v1 + 1, n = v1 + v2 + 1.

    >>> leader_probability(0, 0), round(leader_probability(3, 0), 4)
    (0.5, 0.9375)
    """
    a, n = leader_votes + 1, leader_votes + runner_up_votes + 1
    return sum(math.comb(n, j) for j in range(a)) / 2**n


def should_stop(answers: Sequence, *, equivalent: Callable | None = None, threshold: float = 0.95,
                min_samples: int = 2) -> bool:
    """Stop sampling once the current leader's lead is settled: at least ``min_samples`` answers
    and ``leader_probability(leader, runner-up) >= threshold``."""
    if len(answers) < min_samples:
        return False
    vote = majority_vote(answers, equivalent=equivalent)
    if vote.answer is None:
        return False
    runner_up = len(vote.clusters[1].members) if len(vote.clusters) > 1 else 0
    return leader_probability(vote.count, runner_up) >= threshold
