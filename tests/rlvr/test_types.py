import torch

from rlvr.types import Rollout, cat_rollouts


def _rollout(prompt_width, completion_width, n=2, fill=5):
    return Rollout(
        prompt_ids=torch.full((n, prompt_width), fill), prompt_mask=torch.ones(n, prompt_width, dtype=torch.long),
        completion_ids=torch.full((n, completion_width), fill), completion_mask=torch.ones(n, completion_width,
                                                                                          dtype=torch.long),
        is_truncated=torch.zeros(n, dtype=torch.bool), prompts=["p"] * n, completions=["c"] * n, rows=[{}] * n,
        rewards=torch.arange(n, dtype=torch.float))


def test_cat_rollouts_pads_prompts_left_and_completions_right():
    out = cat_rollouts([_rollout(3, 2), _rollout(1, 4, fill=7)], pad_token_id=0)
    assert out.prompt_ids.tolist()[2] == [0, 0, 7] and out.prompt_mask.tolist()[2] == [0, 0, 1]
    assert out.completion_ids.tolist()[0] == [5, 5, 0, 0] and out.completion_mask.tolist()[0] == [1, 1, 0, 0]
    assert out.rewards.tolist() == [0.0, 1.0, 0.0, 1.0] and len(out.prompts) == 4 and out.old_logprobs is None


def test_select_takes_rows_of_every_field():
    r = _rollout(2, 2, n=4)
    r.completions = ["a", "b", "c", "d"]
    s = r.select([3, 1])
    assert s.completions == ["d", "b"] and s.rewards.tolist() == [3.0, 1.0] and len(s) == 2


def test_trimmed_drops_columns_that_are_padding_in_every_row():
    r = _rollout(4, 5, n=2)
    r.prompt_mask[:, :2] = 0  # both prompts left-padded by 2; one by 3
    r.prompt_mask[1, 2] = 0
    r.completion_mask[0, 3:] = 0  # the longer completion ends at column 3
    r.completion_mask[1, 1:] = 0
    r.advantages = torch.arange(10.0).view(2, 5)  # token-level
    r.old_logprobs = torch.zeros(2, 5)
    r.reward_per_func = torch.ones(2, 5)  # (N, F) with F == T: not per token, kept whole
    r.extras = {"values": torch.ones(2, 5), "scalar": torch.ones(2)}
    t = r.trimmed()
    assert t.prompt_mask.tolist() == [[1, 1], [0, 1]] and t.prompt_ids.shape == (2, 2)
    assert t.completion_mask.tolist() == [[1, 1, 1], [1, 0, 0]] and t.completion_ids.shape == (2, 3)
    assert t.advantages.tolist() == [[0, 1, 2], [5, 6, 7]] and t.old_logprobs.shape == (2, 3)
    assert t.reward_per_func.shape == (2, 5) and t.extras["values"].shape == (2, 3) and t.extras["scalar"].shape == (2,)
    assert t.lengths().tolist() == r.lengths().tolist() == [5, 2]
    r.advantages = torch.ones(2)  # sequence-level advantages are not columns
    assert r.trimmed().advantages.shape == (2,)
    assert _rollout(2, 2).trimmed().completion_ids.shape == (2, 2)  # nothing to trim
