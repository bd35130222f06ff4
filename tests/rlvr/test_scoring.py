import asyncio
import math
import time

import pytest
import torch

from rewards.contract import per_row
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


class InFlight:
    """Counts how many calls of a sleeping reward overlap (the most at once is the concurrency reached)."""

    def __init__(self, delay: float):
        self.delay, self.now, self.most, self.calls = delay, 0, 0, 0

    async def __aenter__(self):
        self.now += 1
        self.calls += 1
        self.most = max(self.most, self.now)
        await asyncio.sleep(self.delay)

    async def __aexit__(self, *exc):
        self.now -= 1


def sleeping_judge(shared: InFlight, hang_on: str | None = None):
    @per_row
    async def judge(prompt, completion, **row):
        if completion == hang_on:
            await asyncio.sleep(3600)
        async with shared:
            return float(len(completion))
    return judge


@pytest.mark.parametrize("bound, most", [(4, 4), (64, 16)])
def test_async_rows_run_concurrently_within_the_bound(bound, most):
    shared = InFlight(0.2)
    completions = [f"c{i}" for i in range(16)]
    start = time.monotonic()
    rewards, _, _ = Scorer([sleeping_judge(shared)], max_concurrency=bound)(completions, completions, [{}] * 16)
    elapsed = time.monotonic() - start
    assert rewards.tolist() == [2.0] * 10 + [3.0] * 6 and shared.calls == 16
    assert shared.most == most  # exactly the bound: never more, and the rows did overlap
    assert elapsed < 16 * 0.2 / 2  # far from the 3.2 s the rows take one after another


def test_several_async_rewards_and_a_sync_one_run_at_the_same_time():
    shared = InFlight(0.3)

    async def batch_judge(completions, **kwargs):  # a batch-level async reward shares the same clock
        async with shared:
            return [1.0] * len(completions)

    judge = sleeping_judge(shared)
    judge.__name__ = "row_judge"
    rewards, per_func, metrics = Scorer([batch_judge, judge, F.length_reward], max_concurrency=8)(
        PROMPTS, COMPLETIONS, ROWS)
    assert per_func.tolist() == [[1.0, 1.0, 1.0], [1.0, 4.0, 4.0], [1.0, 6.0, 6.0]]
    assert shared.most == 4  # the batch call and the three rows were in flight together
    assert metrics["reward_errors/row_judge"] == 0.0


def test_a_hanging_row_is_reported_or_scored_none():
    judge = sleeping_judge(InFlight(0.0), hang_on="abcd")
    start = time.monotonic()
    with pytest.raises(RewardError, match=r"'judge' failed on completion 1 \(1 of 3 failed\).*0.5 s time limit"):
        Scorer([judge], timeout_s=0.5)(PROMPTS, COMPLETIONS, ROWS)
    rewards, _, metrics = Scorer([judge], timeout_s=0.5, on_error="none")(PROMPTS, COMPLETIONS, ROWS)
    assert rewards[0].item() == 1.0 and math.isnan(rewards[1].item()) and rewards[2].item() == 6.0
    assert metrics["reward_errors/judge"] == pytest.approx(1 / 3)
    assert time.monotonic() - start < 10


def test_async_rewards_break_the_contract_loudly():
    async def wrong_length(completions, **kwargs):
        return [1.0]

    @per_row
    async def says_high(prompt, completion, **row):
        return "high"

    with pytest.raises(RewardError, match="must return a list of 3 scores"):
        Scorer([wrong_length])(PROMPTS, COMPLETIONS, ROWS)
    with pytest.raises(RewardError, match="returned 'high' for completion 0"):
        Scorer([says_high])(PROMPTS, COMPLETIONS, ROWS)


def test_blocking_per_row_reward_runs_in_threads():
    import threading

    seen = set()

    @per_row
    def blocking(prompt, completion, **row):  # e.g. a requests-based judge
        seen.add(threading.get_ident())
        time.sleep(0.2)
        return 1.0

    completions = [f"c{i}" for i in range(8)]
    rewards, _, _ = Scorer([blocking])(completions, completions, [{}] * 8)
    assert rewards.tolist() == [1.0] * 8 and len(seen) > 1
