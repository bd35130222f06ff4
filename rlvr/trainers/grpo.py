"""GRPO (and its Dr. GRPO / RLOO variants): group-relative advantages on the shared RL loop."""

from __future__ import annotations

import torch

from rlvr.algorithms import ADVANTAGE_ESTIMATORS
from rlvr.config import GRPOConfig
from rlvr.trainers.base import RLTrainer
from rlvr.types import Rollout


class GRPOTrainer(RLTrainer):
    """Group Relative Policy Optimization (Shao et al. 2024).

    The loop, rollout, scoring and loss are ``RLTrainer``'s; the advantage estimator is
    ``config.advantage_estimator`` (grpo / dr_grpo / rloo), applied per group of ``group_size``
    completions of one prompt. No critic, no value model.
    """

    def __init__(self, config: GRPOConfig, **kwargs):
        super().__init__(config, **kwargs)
        self.advantage_fn = ADVANTAGE_ESTIMATORS[config.advantage_estimator]

    def compute_advantages(self, batch: Rollout) -> torch.Tensor:
        """(N,) group-relative advantages; NaN rewards get zero advantage."""
        return self.advantage_fn(batch.rewards.view(-1, self.config.group_size)).reshape(-1)
