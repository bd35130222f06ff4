"""GRPO and its critic-free relatives (Dr. GRPO, RLOO, REINFORCE++): advantages from the rewards
alone, on the shared RL loop."""

from __future__ import annotations

import torch

from rlvr.algorithms import ADVANTAGE_ESTIMATORS
from rlvr.config import GRPOConfig
from rlvr.trainers.base import RLTrainer
from rlvr.types import Rollout


class GRPOTrainer(RLTrainer):
    """Group Relative Policy Optimization (Shao et al. 2024).

    The loop, rollout, scoring and loss are ``RLTrainer``'s; the advantage estimator is
    ``config.advantage_estimator`` (any entry of ``ADVANTAGE_ESTIMATORS``), applied to the
    (prompts, group_size) rewards of this process, with a sum over all processes for the estimators
    that normalise over the global batch. No critic, no value model.
    """

    def __init__(self, config: GRPOConfig, **kwargs):
        super().__init__(config, **kwargs)
        self.advantage_fn = ADVANTAGE_ESTIMATORS[config.advantage_estimator]

    def compute_advantages(self, batch: Rollout) -> torch.Tensor:
        """(N,) advantages, one per completion; NaN rewards get zero advantage."""
        rewards = batch.rewards.to(self.accelerator.device).view(-1, self.config.group_size)
        return self.advantage_fn(rewards, all_reduce_sum=self.all_reduce_sum).reshape(-1)
