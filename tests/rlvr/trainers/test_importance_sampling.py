"""The trainer with a sampler that differs from it: a bf16 sampler for an fp32 trainer, corrected
by importance sampling, with the mismatch logged."""

import os

import pytest
import torch

from rlvr import algorithms as A
from rlvr.config import ConfigError, GRPOConfig, PPOConfig
from rlvr.tracking import read_jsonl
from rlvr.trainers import GRPOTrainer, PPOTrainer
from rlvr.trainers.base import Timer
from tests.conftest import TEST_SFT_STEPS
from tests.rlvr.test_docs_examples import assert_documented
from tests.rlvr.trainers.test_grpo import small_config

MISMATCH_KEYS = {"rollout/logprob_diff_mean", "rollout/is_ratio_max", "rollout/is_ratio_min", "rollout/is_capped_frac"}


def _steps(config) -> list[dict]:
    return [r for r in read_jsonl(os.path.join(config.output_dir, "metrics.jsonl")) if "reward/mean" in r]


def test_tis_with_a_bf16_sampler_trains_and_logs_the_mismatch(tmp_path, toy_dir):
    bf16 = small_config(tmp_path / "bf16", max_steps=2, num_eval_samples=0, importance_sampling="tis",
                        generation_dtype="bfloat16")
    GRPOTrainer(bf16).train()
    fp32 = small_config(tmp_path / "fp32", max_steps=1, num_eval_samples=0, importance_sampling="tis")
    GRPOTrainer(fp32).train()
    for r in _steps(bf16):
        assert MISMATCH_KEYS <= set(r) and r["grad_norm"] is not None
        assert 1e-4 < r["rollout/logprob_diff_mean"] < 0.1  # bf16 rounding, not a different policy
        assert r["rollout/is_ratio_max"] > 1 > r["rollout/is_ratio_min"]
    assert_documented(os.path.join(bf16.output_dir, "metrics.jsonl"), ["accuracy_reward"])
    (same,) = _steps(fp32)
    assert same["rollout/logprob_diff_mean"] < 1e-4  # an fp32 sampler is the trainer's policy


def test_the_policy_loss_is_weighted_token_by_token(tmp_path, toy_dir):
    config = small_config(tmp_path, num_eval_samples=0, importance_sampling="tis", generation_dtype="bfloat16")
    trainer = GRPOTrainer(config)
    batch, _ = trainer.sample_batch(Timer())
    trainer.add_logprobs(batch)
    trainer.add_importance_weights(batch)
    batch.advantages = torch.linspace(-1, 2, len(batch))  # nonzero, whatever the toy's rewards were
    mask = batch.completion_mask.bool()
    weights = batch.importance_weights
    assert (weights[~mask] == 0).all() and (weights[mask] != 1).any() and (weights[mask] - 1).abs().max() < 0.5
    normalizer = A.loss_normalizer(batch.completion_mask, config.loss_aggregation, config.max_new_tokens)
    losses = {}
    for name, value in {"none": None, "two": torch.where(mask, 2.0, 0.0), "zero": torch.zeros_like(weights)}.items():
        batch.importance_weights = value
        with torch.no_grad():
            losses[name] = trainer.policy_loss(batch, normalizer)[0]
    assert losses["none"] != 0 and torch.allclose(losses["two"], 2 * losses["none"]) and losses["zero"] == 0


def test_metrics_without_correction_when_updates_are_off_policy_and_none_when_on_policy(tmp_path, toy_dir):
    off = small_config(tmp_path / "off", max_steps=1, num_eval_samples=0, num_mini_batches=2)
    GRPOTrainer(off).train()
    assert MISMATCH_KEYS <= set(_steps(off)[0])
    on = small_config(tmp_path / "on", max_steps=1, num_eval_samples=0)
    GRPOTrainer(on).train()
    assert not MISMATCH_KEYS & set(_steps(on)[0])  # no old log-probs: nothing to compare with


def test_ppo_with_sequence_level_mis(tmp_path, toy_dir):
    config = PPOConfig(model_name_or_path="toy", toy_sft_steps=TEST_SFT_STEPS, max_new_tokens=8, prompts_per_step=4,
                       max_steps=2, num_eval_samples=0, report_to=["none"], output_dir=str(tmp_path / "run"),
                       disable_progress_bar=True, learning_rate=1e-4, importance_sampling="mis",
                       importance_sampling_level="sequence", generation_dtype="bfloat16")
    PPOTrainer(config).train()
    steps = _steps(config)
    assert len(steps) == 2 and all(MISMATCH_KEYS <= set(r) for r in steps)


@pytest.mark.parametrize("overrides, message", [
    (dict(dtype="bfloat16", generation_dtype="float32"), "only a float32 trainer"),
    (dict(importance_sampling_cap=1.0), "importance_sampling_cap must be > 1"),
    (dict(importance_sampling="clip"), "importance_sampling must be one of"),
    (dict(importance_sampling_level="geometric"), "importance_sampling_level must be one of"),
])
def test_config_errors(overrides, message):
    with pytest.raises(ConfigError, match=message):
        GRPOConfig(**overrides)
