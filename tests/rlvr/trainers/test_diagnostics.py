"""Metrics that tell the truth: collapse diagnostics are logged, lengths are measured as sampled
(before any loss mask), dynamic sampling judges groups by the verifiers' reward, and checkpoints
store the weights once and can be pruned."""

import os

import pytest

from rlvr.tracking import read_jsonl
from rlvr.trainers import GRPOTrainer
from tests.rlvr.trainers.test_grpo import small_config


def always_zero(completions, **_):
    return [0.0] * len(completions)


def steps(config) -> list[dict]:
    return [r for r in read_jsonl(os.path.join(config.output_dir, "metrics.jsonl")) if "reward/mean" in r]


def test_collapse_diagnostics_are_logged_every_step(tmp_path, toy_dir):
    # two optimizer steps per rollout: the second is off-policy, so the ratio leaves 1
    config = small_config(tmp_path, max_steps=2, num_mini_batches=2, learning_rate=1e-3, num_eval_samples=0)
    GRPOTrainer(config).train()
    for row in steps(config):
        assert row["policy/entropy"] > 0
        assert row["policy/approx_kl"] >= 0
        assert 0 < row["policy/ratio_min"] <= 1 <= row["policy/ratio_max"]
        assert 0 <= row["policy/clip_frac_low"] <= 1 and 0 <= row["policy/clip_frac_high"] <= 1
    assert any(row["policy/ratio_max"] > row["policy/ratio_min"] for row in steps(config))


def test_lengths_and_throughput_are_measured_before_truncated_completions_are_masked(tmp_path, toy_dir):
    # 1 new token: every completion is cut before its eos, so the loss mask drops all of them
    config = small_config(tmp_path, max_steps=1, max_new_tokens=1, mask_truncated_completions=True,
                          num_eval_samples=0)
    GRPOTrainer(config).train()
    (row,) = steps(config)
    assert row["completions/truncated_frac"] == 1.0
    assert row["completions/mean_length"] == 1.0
    assert row["tokens/s"] > 0


def test_dynamic_sampling_ignores_groups_that_differ_only_by_the_overlong_penalty(tmp_path, toy_dir):
    # the verifier gives every completion 0; at temperature 3 the lengths differ within a group, so
    # the overlong penalty makes the total rewards differ too, but no group says anything about
    # correctness: none is informative, however many rounds are sampled
    config = small_config(tmp_path, max_steps=1, temperature=3.0, overlong_buffer=6, dynamic_sampling=True,
                          max_resample_rounds=1, num_eval_samples=0)
    trainer = GRPOTrainer(config, reward_funcs=[always_zero])
    trainer.train()
    (row,) = steps(config)
    assert row["reward/overlong_penalty"] < 0
    assert row["dynamic_sampling/kept_frac"] == 0.0
    assert row["dynamic_sampling/rounds"] == 2


def test_checkpoints_store_the_weights_once_and_the_oldest_are_pruned(tmp_path, toy_dir):
    config = small_config(tmp_path, max_steps=3, save_steps=1, save_total_limit=2, num_eval_samples=0)
    GRPOTrainer(config).train()
    out = config.output_dir
    assert sorted(n for n in os.listdir(out) if n.startswith("checkpoint-")) == ["checkpoint-2", "checkpoint-3"]
    model_bytes = os.path.getsize(os.path.join(out, "checkpoint-3", "model.safetensors"))
    state = os.path.join(out, "checkpoint-3", "state")
    state_weights = sum(os.path.getsize(os.path.join(state, n)) for n in os.listdir(state) if n.startswith("model"))
    assert state_weights < model_bytes / 100  # an empty placeholder, not a second copy


@pytest.mark.parametrize("limit", [0, -1])
def test_save_total_limit_must_be_positive(tmp_path, limit):
    from rlvr.config import ConfigError

    with pytest.raises(ConfigError, match="save_total_limit"):
        small_config(tmp_path, save_total_limit=limit)
