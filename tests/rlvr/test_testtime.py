import pytest

from rewards.math import is_equivalent
from rlvr.testtime import majority_vote, should_stop


def test_vote_clusters_equivalent_forms_together():
    vote = majority_vote(["0.5", "1/2", r"\frac{1}{2}", "2", "2"], equivalent=is_equivalent)
    assert vote.count == 3 and vote.answer == "0.5" and vote.share == pytest.approx(0.6)
    assert [len(c.members) for c in vote.clusters] == [3, 2]
    assert majority_vote(["0.5", "1/2", r"\frac{1}{2}", "2", "2"]).answer == "2"  # plain text splits the vote


def test_tie_break_is_weight_then_count_then_first_seen():
    assert majority_vote(["a", "b", "b", "a"]).answer == "a"  # tie: the cluster seen first
    assert majority_vote(["a", "b"], weights=[0.4, 0.6]).answer == "b"
    assert majority_vote(["a", "a", "b"], weights=[0.3, 0.3, 0.6]).answer == "a"  # equal weight: more members


def test_none_answers_do_not_vote():
    vote = majority_vote([None, "7", None])
    assert vote.answer == "7" and vote.share == 1.0
    assert majority_vote([None, None]).answer is None
    with pytest.raises(ValueError, match="weights"):
        majority_vote(["a"], weights=[1.0, 2.0])


def test_stopping_rule_never_stops_before_its_minimum_and_waits_for_a_settled_lead():
    assert not should_stop(["4"] * 3, min_samples=4)
    assert should_stop(["4"] * 4, min_samples=4)  # P = 31/32 > 0.95
    assert not should_stop(["4", "5", "4", "5"], min_samples=2)
    assert not should_stop([None, None, None], min_samples=1)


def test_adaptive_vote_respects_the_minimum_and_the_budget():
    from rlvr.testtime import adaptive_vote

    vote, used = adaptive_vote(["7"] * 16, min_samples=6)
    assert used == 6 and vote.answer == "7"  # never before the minimum
    assert adaptive_vote(["1", "2", "3", "4"])[1] == 4  # never settled: the whole budget
    # stopping by the budget rule never changes the full-budget winner
    answers = ["a", "b", "a", "a", "c", "a", "b", "a"]
    assert adaptive_vote(answers, threshold=1.0)[0].answer == majority_vote(answers).answer


def test_best_of_n_and_execution_vote():
    from rlvr.testtime import best_of_n, execution_vote

    assert best_of_n(["x", "y", "z"], lambda cs: [len(c) for c in cs]) == (0, [1, 1, 1])  # tie: first
    assert best_of_n(["x", "y"], [None, 0.1])[0] == 1 and best_of_n(["x", "y"], [float("nan"), -5])[0] == 1
    with pytest.raises(ValueError, match="2 scores for 3"):
        best_of_n(["a", "b", "c"], [1, 2])
    index, clusters = execution_vote([("1",), ("2",), ("2",), ("1",), None], visible_passed=[1, 0, 0, 1, 1])
    assert index == 0 and clusters == [[0, 3], [1, 2]]  # equal sizes: the cluster passing visible tests wins
    assert execution_vote([None, None]) == (0, [])
