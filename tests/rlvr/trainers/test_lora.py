"""LoRA: only adapters train, and the reference is the base with adapters disabled (no copy)."""

import os

import torch
from peft import PeftModel

from rlvr.modeling import completion_logprobs, load_causal_lm
from rlvr.tracking import read_jsonl
from rlvr.trainers import GRPOTrainer, PPOTrainer
from tests.rlvr.trainers.test_grpo import small_config
from tests.rlvr.trainers.test_ppo import ppo_config


def test_lora_trains_adapters_only_and_uses_the_base_as_reference(tmp_path, toy_dir):
    config = small_config(tmp_path, use_peft=True, lora_r=4, learning_rate=1e-3, kl_coef=0.05, max_steps=2,
                          num_eval_samples=8)
    trainer = GRPOTrainer(config)
    assert trainer.ref_model is None  # no second copy of the weights
    policy = trainer.accelerator.unwrap_model(trainer.model)
    trainable = {n for n, p in policy.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
    frozen_before = {n: p.detach().clone() for n, p in policy.named_parameters() if not p.requires_grad}
    trainer.train()
    assert all(torch.equal(p, frozen_before[n]) for n, p in policy.named_parameters() if not p.requires_grad)

    # the reference log-probs are the base model's
    batch = trainer.last_batch
    base = load_causal_lm(toy_dir)
    expected = completion_logprobs(base, batch.prompt_ids, batch.prompt_mask, batch.completion_ids,
                                   batch.completion_mask)
    mask = batch.completion_mask.bool()
    assert torch.allclose(batch.ref_logprobs[mask], expected[mask], atol=1e-4)
    steps = [r for r in read_jsonl(os.path.join(config.output_dir, "metrics.jsonl")) if "reward/mean" in r]
    assert all(r["kl"] is not None for r in steps)
    # the output folder holds the adapters, loadable on the base model
    adapted = PeftModel.from_pretrained(load_causal_lm(toy_dir), config.output_dir)
    assert any("lora_B" in n and p.abs().sum() > 0 for n, p in adapted.named_parameters())


def test_ppo_with_lora_policy(tmp_path, toy_dir):
    config = ppo_config(tmp_path, use_peft=True, lora_r=4, kl_coef=0.05, max_steps=2)
    PPOTrainer(config).train()
    steps = [r for r in read_jsonl(os.path.join(config.output_dir, "metrics.jsonl")) if "reward/mean" in r]
    assert len(steps) == 2 and all(r["kl"] is not None for r in steps)
