"""The PPO trainer on the toy model: critic, GAE, KL placement, warm-up, resume, two processes."""

import os

import pytest
import torch

from rlvr.config import ConfigError, PPOConfig, parse_config
from rlvr.critic import ValueModel, completion_values
from rlvr.tracking import read_jsonl
from rlvr.trainers import PPOTrainer
from tests.conftest import TEST_SFT_STEPS
from tests.rlvr.trainers.test_distributed import launch
from tests.rlvr.trainers.test_grpo import (
    LEARNING_ARGS,
    LEARNING_MARGIN,
    TIMING_KEYS,
    eight_prompts,
    reward_gain,
)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
RECIPE = os.path.join(ROOT, "recipes", "toy", "ppo_arithmetic.yaml")


def ppo_config(tmp_path, **overrides) -> PPOConfig:
    args = dict(model_name_or_path="toy", toy_sft_steps=TEST_SFT_STEPS, max_new_tokens=8, prompts_per_step=8,
                group_size=2, learning_rate=1e-4, critic_learning_rate=1e-3, max_steps=3, num_eval_samples=0,
                report_to=["none"], output_dir=str(tmp_path / "run"), disable_progress_bar=True)
    args.update(overrides)
    return PPOConfig(**args)


def steps_of(config):
    return [r for r in read_jsonl(os.path.join(config.output_dir, "metrics.jsonl")) if "reward/mean" in r]


def test_recipe_selects_ppo_and_starts_with_its_launch_command():
    config = parse_config(None, ["--config", RECIPE, "--max_steps", "2"])
    assert isinstance(config, PPOConfig) and config.max_steps == 2
    assert open(RECIPE).readline().startswith("# accelerate launch -m rlvr.train --config")


def test_critic_values_align_with_states_before_each_token(toy_dir):
    critic = ValueModel.from_pretrained(toy_dir)
    torch.nn.init.normal_(critic.value_head.weight)
    prompt, pmask = torch.tensor([[0, 5, 6]]), torch.tensor([[0, 1, 1]])
    completion, cmask = torch.tensor([[7, 8]]), torch.tensor([[1, 1]])
    values = completion_values(critic, prompt, pmask, completion, cmask)
    # V(s_0) is read at the last prompt token: it cannot depend on the completion
    other = completion_values(critic, prompt, pmask, torch.tensor([[9, 8]]), cmask)
    assert values[0, 0] == other[0, 0] and values[0, 1] != other[0, 1]


def test_critic_save_and_load_round_trip(tmp_path, toy_dir):
    critic = ValueModel.from_pretrained(toy_dir)
    torch.nn.init.normal_(critic.value_head.weight)
    critic.save_pretrained(str(tmp_path / "c"))
    again = ValueModel.from_pretrained(str(tmp_path / "c"))
    ids, mask = torch.tensor([[5, 6, 7]]), torch.ones(1, 3, dtype=torch.long)
    pos = torch.arange(3).unsqueeze(0)
    assert torch.allclose(critic(ids, mask, pos), again(ids, mask, pos))


@pytest.mark.parametrize("overrides", [
    dict(),
    dict(kl_coef=0.05, kl_in_reward=True, kl_target=0.01, kl_horizon=100),
    dict(kl_coef=0.05, kl_in_reward=False, kl_estimator="k3", ppo_epochs=2, num_mini_batches=2, value_clip=None),
    dict(policy_loss="gspo_token", clip_low=3e-4, clip_high=4e-4, num_mini_batches=2),  # GSPO ratio, GAE advantages
], ids=["plain", "kl_in_reward_adaptive", "kl_in_loss_off_policy", "gspo_token"])
def test_ppo_steps_train_policy_and_critic(tmp_path, toy_dir, overrides):
    config = ppo_config(tmp_path, **overrides)
    summary = PPOTrainer(config).train()
    steps = steps_of(config)
    assert len(steps) == 3 and summary["steps"] == 3
    for r in steps:
        for key in ["loss/policy", "loss/value", "value/explained_variance", "value/mean", "value/clip_frac",
                    "policy/clip_frac", "critic/grad_norm", "grad_norm", "advantages/abs_mean", "kl_coef"]:
            assert r[key] is not None, key
    if overrides.get("kl_coef"):
        assert all(r["kl"] is not None for r in steps)
    if overrides.get("kl_target"):
        assert steps[-1]["kl_coef"] != 0.05  # the controller moved it
    critic = ValueModel.from_pretrained(os.path.join(config.output_dir, "critic"))
    assert critic.value_head.weight.abs().sum() > 0  # trained away from its zero init


def test_critic_warmup_leaves_the_policy_alone(tmp_path, toy_dir):
    config = ppo_config(tmp_path, max_steps=2, critic_warmup_steps=2)
    trainer = PPOTrainer(config)
    before = {k: v.clone() for k, v in trainer.accelerator.unwrap_model(trainer.model).state_dict().items()}
    trainer.train()
    after = trainer.accelerator.unwrap_model(trainer.model).state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all("loss/policy" not in r and r["loss/value"] is not None for r in steps_of(config))


def test_ppo_resume_reproduces_an_uninterrupted_run(tmp_path, toy_dir):
    full = ppo_config(tmp_path / "full", max_steps=4, save_steps=2, kl_coef=0.05, kl_target=0.01, kl_horizon=50)
    PPOTrainer(full).train()
    part = ppo_config(tmp_path / "part", max_steps=2, save_steps=2, kl_coef=0.05, kl_target=0.01, kl_horizon=50)
    PPOTrainer(part).train()
    resumed = ppo_config(tmp_path / "part", max_steps=4, save_steps=2, kl_coef=0.05, kl_target=0.01,
                         kl_horizon=50, resume_from_checkpoint="latest")
    PPOTrainer(resumed).train()

    def comparable(records):
        return [{k: v for k, v in r.items() if k not in TIMING_KEYS | {"lr", "critic/lr"}} for r in records]

    assert comparable(steps_of(resumed)) == comparable(steps_of(full))


def test_bad_ppo_config():
    with pytest.raises(ConfigError, match="lam"):
        PPOConfig(lam=1.5)
    with pytest.raises(ConfigError, match="kl_target"):
        PPOConfig(kl_target=0.1, kl_coef=0.0)


@pytest.mark.slow
def test_ppo_two_processes(tmp_path, toy_dir):
    out = tmp_path / "run"
    launch(["-m", "rlvr.train", "--config", RECIPE, "--max_steps", "3", "--output_dir", str(out),
            "--prompts_per_step", "8", "--num_eval_samples", "16", "--report_to", "none",
            "--toy_sft_steps", str(TEST_SFT_STEPS), "--save_steps", "2", "--critic_warmup_steps", "1"], processes=2)
    steps = [r for r in read_jsonl(out / "metrics.jsonl") if "reward/mean" in r]
    assert [r["step"] for r in steps] == [1, 2, 3] and steps[-1]["loss/policy"] is not None
    assert os.path.exists(out / "critic" / "value_head.pt") and os.path.exists(out / "summary.json")


@pytest.mark.slow
def test_ppo_toy_recipe_learns_what_it_is_rewarded_for(tmp_path, toy_dir):
    # the first ten steps are the critic's warm-up: the policy is not updated yet (see test_grpo.LEARNING_MARGIN)
    config = parse_config(None, ["--config", RECIPE, "--output_dir", str(tmp_path / "run"), "--max_steps", "60",
                                 "--dataset", eight_prompts(tmp_path), *LEARNING_ARGS])
    PPOTrainer(config).train()
    assert reward_gain(config.output_dir) >= LEARNING_MARGIN


def test_shared_backbone_critic_trains_head_and_policy_without_a_second_model(tmp_path, toy_dir):
    config = ppo_config(tmp_path, critic_share_backbone=True, critic_warmup_steps=1, max_steps=3)
    trainer = PPOTrainer(config)
    assert sum(p.numel() for p in trainer.critic.parameters()) == 129  # hidden 128 + bias: a head only
    before = {k: v.clone() for k, v in trainer.accelerator.unwrap_model(trainer.model).state_dict().items()}
    trainer.train()
    after = trainer.accelerator.unwrap_model(trainer.model).state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    steps = steps_of(config)
    assert "loss/policy" not in steps[0] and steps[-1]["loss/policy"] is not None
    assert steps[-1]["value/mean"] != 0.0
    assert os.path.exists(os.path.join(config.output_dir, "critic", "value_head.pt"))
