import math
import time

import pytest
import torch

from rlvr.scoring import RewardError, Scorer, call_reward
from tests.rlvr import reward_fixtures as F

PROMPTS = ["p1", "p2", "p3"]
COMPLETIONS = ["a", "abcd", "abcdef"]
ROWS = [{"answer": "1"}, {"answer": "2"}, {"answer": "3"}]


def test_weighted_sum_and_per_function_metrics():
    rewards, per_func, metrics = Scorer([F.length_reward, F.none_for_short], [0.5, 2.0])(PROMPTS, COMPLETIONS, ROWS)
    assert per_func[:, 0].tolist() == [1.0, 4.0, 6.0]
    assert math.isnan(per_func[0, 1]) and per_func[1:, 1].tolist() == [1.0, 1.0]
    # a None from one function leaves the others' weighted scores (TRL's nansum)
    assert rewards.tolist() == [0.5, 4.0, 5.0]
    assert metrics["reward/length_reward"] == pytest.approx(11 / 3)
    assert metrics["reward/none_for_short/none_frac"] == pytest.approx(1 / 3)


def test_all_none_becomes_nan():
    rewards, _, _ = Scorer([F.none_for_short])(PROMPTS, COMPLETIONS, ROWS)
    assert math.isnan(rewards[0]) and rewards[1] == 1.0


def test_columns_are_passed_as_keywords():
    seen = {}

    def spy(prompts, completions, answer, **kw):
        seen.update(prompts=prompts, answer=answer)
        return [0.0] * len(completions)

    call_reward(spy, PROMPTS, COMPLETIONS, ROWS)
    assert seen == {"prompts": PROMPTS, "answer": ["1", "2", "3"]}


@pytest.mark.parametrize("fn, message", [
    (F.raising_reward, "'raising_reward' failed: ValueError\\('boom"),
    (F.wrong_length_reward, "must return a list of 3 scores, got 1 scores"),
    (F.string_reward, "returned 'high' for completion 0"),
])
def test_failing_reward_stops_with_its_name(fn, message):
    with pytest.raises(RewardError, match=message):
        Scorer([F.length_reward, fn])(PROMPTS, COMPLETIONS, ROWS)


def test_failing_reward_scored_none_when_configured():
    rewards, per_func, metrics = Scorer([F.length_reward, F.raising_reward], on_error="none")(
        PROMPTS, COMPLETIONS, ROWS)
    assert torch.isnan(per_func[:, 1]).all() and rewards.tolist() == [1.0, 4.0, 6.0]
    assert metrics["reward_errors/raising_reward"] == 1.0
    assert metrics["reward_errors/length_reward"] == 0.0


def test_hanging_reward_times_out_in_threads():
    start = time.monotonic()
    with pytest.raises(RewardError, match="'hanging_reward' failed.*0.5 s time limit"):
        Scorer([F.hanging_reward], timeout_s=0.5)(PROMPTS, COMPLETIONS, ROWS)
    assert time.monotonic() - start < 5


def test_process_pool_scores_and_recovers_from_a_hang():
    scorer = Scorer([F.length_reward, F.hanging_reward], timeout_s=2.0, on_error="none", num_workers=2)
    try:
        rewards, per_func, metrics = scorer(PROMPTS, COMPLETIONS, ROWS)
        assert per_func[:, 0].tolist() == [1.0, 4.0, 6.0] and metrics["reward_errors/hanging_reward"] == 1.0
        assert scorer._pool is None  # the hung workers were killed
        scorer.funcs, scorer.names = [F.length_reward], ["length_reward"]
        scorer.weights = torch.ones(1)
        rewards, _, _ = scorer(PROMPTS, COMPLETIONS, ROWS)  # a fresh pool serves the next batch
        assert rewards.tolist() == [1.0, 4.0, 6.0]
    finally:
        scorer.close()


def test_process_pool_reports_raising_reward():
    scorer = Scorer([F.raising_reward], num_workers=2)
    try:
        with pytest.raises(RewardError, match="raising_reward"):
            scorer(PROMPTS, COMPLETIONS, ROWS)
    finally:
        scorer.close()


def test_bad_scorer_arguments():
    with pytest.raises(ValueError, match="2 reward weights given for 1"):
        Scorer([F.length_reward], [1.0, 2.0])
    with pytest.raises(ValueError, match="on_error"):
        Scorer([F.length_reward], on_error="ignore")
    with pytest.raises(ValueError, match="distinct names"):
        Scorer([F.length_reward, F.length_reward])
