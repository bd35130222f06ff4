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
                min_samples: int = 2, budget: int | None = None) -> bool:
    """Stop sampling once the current leader's lead is settled: at least ``min_samples`` answers and
    either ``leader_probability(leader, runner-up) >= threshold`` or, with a sample ``budget``, a lead
    that the remaining samples could not overturn (which never changes the full-budget vote)."""
    if len(answers) < min_samples:
        return False
    vote = majority_vote(answers, equivalent=equivalent)
    if vote.answer is None:
        return False
    runner_up = len(vote.clusters[1].members) if len(vote.clusters) > 1 else 0
    if budget is not None and vote.count - runner_up > budget - len(answers):
        return True
    return leader_probability(vote.count, runner_up) >= threshold


def adaptive_vote(answers: Sequence, *, equivalent: Callable | None = None, threshold: float = 0.95,
                  min_samples: int = 2, batch_size: int = 1, weights: Sequence[float] | None = None
                  ) -> tuple[Vote, int]:
    """Adaptive-Consistency over a stream of samples: take ``batch_size`` answers at a time and stop as
    soon as ``should_stop`` holds (or the stream ends). Returns the vote over the answers used and their
    number. Samples are i.i.d., so replaying n pre-drawn samples in order is the same experiment as
    drawing them batch by batch; ``rlvr.inference.adaptive_sample`` does the latter with a model.

    >>> vote, used = adaptive_vote(["4", "5", "4", "4", "4", "4", "4", "5", "5", "5"], min_samples=3)
    >>> vote.answer, used  # 4 vs 1 gives P = 0.89, 5 vs 1 gives 0.94, 6 vs 1 gives 0.96 >= 0.95
    ('4', 7)
    >>> adaptive_vote(["4", "5", "4", "4", "4", "4", "4"], min_samples=3)[1]  # 4 vs 1 with 2 left: settled
    5
    """
    used = 0
    while used < len(answers):
        used = min(len(answers), max(used + batch_size, min_samples))
        if should_stop(answers[:used], equivalent=equivalent, threshold=threshold, min_samples=min_samples,
                       budget=len(answers)):
            break
    w = None if weights is None else list(weights)[:used]
    return majority_vote(answers[:used], equivalent=equivalent, weights=w), used


def best_of_n(candidates: Sequence, score: Callable[[Sequence], Sequence[float]] | Sequence[float]
              ) -> tuple[int, list[float]]:
    """Rerank with a verifier: the index of the highest-scoring candidate (the first one on a tie) and
    every score. ``score`` is a list of scores or a callable over the candidate list: a programmatic
    verifier (e.g. the fraction of a program's public tests passed) or a learned scorer
    (``rlvr.inference.RewardModelScorer``). ``None`` / NaN scores rank last.

    >>> best_of_n(["a", "b", "c"], [0.2, 0.9, 0.9])
    (1, [0.2, 0.9, 0.9])
    """
    scores = list(score(candidates) if callable(score) else score)
    if len(scores) != len(candidates):
        raise ValueError(f"{len(scores)} scores for {len(candidates)} candidates")
    if not scores:
        raise ValueError("best_of_n needs at least one candidate")
    key = [float("-inf") if s is None or s != s else float(s) for s in scores]
    best = max(range(len(key)), key=lambda i: (key[i], -i))
    return best, scores


def execution_vote(signatures: Sequence, visible_passed: Sequence[float] | None = None) -> tuple[int, list[list[int]]]:
    """CodeT-style consensus (Chen et al. 2022, "CodeT: Code Generation with Generated Tests"): programs
    that behave identically on shared inputs form a cluster; a cluster scores its size times (1 + the
    visible tests its programs pass, on average); the best cluster's first program wins. ``None``
    signatures (a program that failed to run) never win. Returns (index, clusters).

    >>> execution_vote([("1", "2"), ("1", "3"), ("1", "2"), None])
    (0, [[0, 2], [1]])
    """
    clusters: dict = {}
    for i, sig in enumerate(signatures):
        if sig is not None:
            clusters.setdefault(sig, []).append(i)
    if not clusters:
        return 0, []
    passed = [0.0] * len(signatures) if visible_passed is None else [float(p or 0.0) for p in visible_passed]
    groups = list(clusters.values())
    scores = [len(g) * (1.0 + sum(passed[i] for i in g) / len(g)) for g in groups]
    best = max(range(len(groups)), key=lambda j: (scores[j], -j))
    return groups[best][0], groups
