"""GRPO (and its Dr. GRPO / RLOO variants): group-relative advantages on the shared RL loop."""

from __future__ import annotations

from rlvr.config import GRPOConfig
from rlvr.trainers.base import RLTrainer


class GRPOTrainer(RLTrainer):
    """Group Relative Policy Optimization (Shao et al. 2024).

    The loop, rollout, scoring and loss are ``RLTrainer``'s; the advantage estimator is
    ``config.advantage_estimator`` (grpo / dr_grpo / rloo), applied per group of ``group_size``
    completions of one prompt. No critic, no value model.
    """

    def __init__(self, config: GRPOConfig, **kwargs):
        super().__init__(config, **kwargs)
