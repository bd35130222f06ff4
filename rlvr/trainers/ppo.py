"""PPO with a learned critic and GAE, on the same loop as GRPO.

What differs from GRPO: a critic (value head on a copy of the policy's backbone, or on another
model) estimates V(s_t); the verifiable score is the reward of the last token, the KL to the
reference a per-token penalty (in the reward, or in the loss); GAE turns rewards and values into
token-level advantages; the critic is trained on the GAE returns with a clipped value loss, with
its own optimizer, learning rate and warm-up.
"""

from __future__ import annotations

import os

import torch
from accelerate import DistributedType

from rlvr import algorithms as A
from rlvr.checkpoint import save_model
from rlvr.config import ConfigError, PPOConfig
from rlvr.critic import ValueHead, ValueModel, completion_values
from rlvr.modeling import completion_logprobs
from rlvr.trainers.base import RLTrainer
from rlvr.types import Rollout


class PPOTrainer(RLTrainer):
    def __init__(self, config: PPOConfig, critic: ValueModel | None = None, **kwargs):
        """``critic``: a ready ``ValueModel`` (default: built from ``critic_model_name_or_path`` or
        a copy of the policy's backbone; a bare ``ValueHead`` when ``critic_share_backbone``)."""
        super().__init__(config, **kwargs)
        c = config
        self.kl_coef = c.kl_coef  # moves when kl_target is set; saved in checkpoints
        policy = self.accelerator.unwrap_model(self.model)
        if c.critic_share_backbone:
            if self.accelerator.distributed_type == DistributedType.DEEPSPEED:
                raise ConfigError("critic_share_backbone needs the value loss to reach the policy's weights "
                                  "through one backward pass; DeepSpeed runs one engine per model: use a "
                                  "separate critic (critic_share_backbone: false) with DeepSpeed")
            critic = ValueHead(policy.config.hidden_size)
        elif critic is None:
            # float32 master weights like the policy's; dtype is the autocast compute precision
            critic = ValueModel.from_pretrained(c.critic_model_name_or_path or policy.name_or_path, "float32")
        optimizer, scheduler = self.make_optimizer(critic, c.critic_learning_rate)
        self.critic, self.critic_optimizer, self.critic_scheduler = self.accelerator.prepare(
            critic, optimizer, scheduler)
        self.critic.train()

    def trained(self):
        critic = [("critic", self.critic, self.critic_optimizer, self.critic_scheduler)]
        if self.global_step <= self.config.critic_warmup_steps:  # critic-only updates first
            return critic
        return super().trained() + critic

    def needs_old_logprobs(self) -> bool:
        # the KL-in-reward penalty is taken at sampling time, so it needs the sampling log-probs
        return super().needs_old_logprobs() or (self.has_reference() and self.config.kl_in_reward)

    @torch.no_grad()
    def add_logprobs(self, batch: Rollout) -> None:
        super().add_logprobs(batch)
        # A completion that could not be scored has no reward to learn from: out of both losses.
        batch.completion_mask = batch.completion_mask * (~torch.isnan(batch.rewards)).unsqueeze(-1).to(
            batch.completion_mask)
        batch.extras["old_values"] = self.per_micro_batch(batch, lambda micro: self._values(micro)[0])

    def _values(self, micro: Rollout, train_backbone: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """V(s_t) (N, T) and, with a shared backbone, the policy's log-probs from the same forward
        (None otherwise). The backbone gets value-loss gradients only when ``train_backbone``."""
        if not self.config.critic_share_backbone:
            return completion_values(self.critic, *self._inputs(micro)), None
        c = self.config
        policy = self.model if train_backbone else self.accelerator.unwrap_model(self.model)
        with torch.set_grad_enabled(train_backbone and torch.is_grad_enabled()):
            logprobs, hidden = completion_logprobs(policy, *self._inputs(micro), c.temperature,
                                                   self.sizes.prefix_share, return_hidden=True)
        return self.critic(hidden), logprobs

    def compute_advantages(self, batch: Rollout) -> torch.Tensor:
        """Token-level GAE advantages (N, T); the critic's targets go to ``extras["returns"]``."""
        c, mask = self.config, batch.completion_mask
        kl = None
        if self.has_reference() and c.kl_in_reward:
            kl = self.kl_fn(batch.old_logprobs, batch.ref_logprobs)
            self._rollout_kl = A.masked_mean(kl, mask)
            self._sequence_kl = (kl * mask).sum(-1).mean()
        rewards = A.token_rewards(batch.rewards.to(mask.device), mask, kl, self.kl_coef)
        advantages, returns = A.gae(rewards, batch.extras["old_values"], mask, c.gamma, c.lam)
        batch.extras["returns"] = returns
        if c.whiten_advantages:  # over the global batch, so N processes step as one would
            advantages = A.masked_whiten(advantages, mask, all_reduce_sum=self.all_reduce_sum)
        return advantages

    def loss(self, micro: Rollout, normalizer: torch.Tensor) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        c, mask = self.config, micro.completion_mask
        policy_turn = self.global_step > c.critic_warmup_steps
        values, logprobs = self._values(micro, train_backbone=policy_turn)
        per_token, clipped = A.value_loss(values, micro.extras["old_values"], micro.extras["returns"], c.value_clip)
        losses = {"critic": c.value_loss_coef * A.aggregate_loss(per_token, mask, c.loss_aggregation,
                                                                 c.max_new_tokens, normalizer)}
        stats = {"loss/value": A.masked_mean(per_token.detach(), mask),
                 "value/clip_frac": A.masked_mean(clipped.float(), mask),
                 "value/mean": A.masked_mean(values.detach(), mask),
                 "value/explained_variance": A.explained_variance(values.detach(), micro.extras["returns"], mask)}
        if policy_turn:
            losses["policy"], policy_stats = self.policy_loss(micro, normalizer, logprobs)
            stats |= policy_stats
        return losses, stats

    def step(self) -> dict[str, float]:
        self._rollout_kl = self._sequence_kl = None
        metrics = super().step()
        batch, c = self.last_batch, self.config
        mask = batch.completion_mask
        metrics |= {"advantages/mean": A.masked_mean(batch.advantages, mask).item(),
                    "advantages/abs_mean": A.masked_mean(batch.advantages.abs(), mask).item(),
                    "returns/mean": A.masked_mean(batch.extras["returns"], mask).item(),
                    "kl_coef": self.kl_coef}
        if self._rollout_kl is not None:
            metrics["kl"] = self._rollout_kl.item()
            if c.kl_target is not None:  # every process must move the coefficient the same way
                sequence_kl = self.accelerator.reduce(self._sequence_kl, "mean").item()
                self.kl_coef = A.adaptive_kl_coef(self.kl_coef, sequence_kl, c.kl_target, c.kl_horizon,
                                                  len(batch) * self.accelerator.num_processes)
        return metrics

    def _trainer_state(self) -> dict:
        return super()._trainer_state() | {"kl_coef": self.kl_coef}

    def _resume(self) -> int | None:
        step = super()._resume()
        if step is not None:
            self.kl_coef = self._loaded_state.get("kl_coef", self.kl_coef)
        return step

    def save_final_models(self) -> None:
        super().save_final_models()
        save_model(self.accelerator, self.critic, os.path.join(self.config.output_dir, "critic"))
