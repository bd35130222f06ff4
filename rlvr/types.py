"""The batch that flows through one training step, fields grouped by meaning with shapes.

``N`` completions = prompts × group_size; the G completions of one prompt are consecutive rows
(rows ``g*G .. g*G+G-1`` form group ``g``). ``P`` prompt tokens (left-padded), ``T`` completion
tokens (right-padded).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

import torch
from torch import Tensor

# The (N, T) fields: one value per completion token (``advantages`` only when token-level).
TOKEN_FIELDS = ("completion_ids", "completion_mask", "advantages", "sampler_logprobs", "old_logprobs",
                "ref_logprobs", "importance_weights")


@dataclass
class Rollout:
    # --- what was sampled ---
    prompt_ids: Tensor  # (N, P) int, left-padded
    prompt_mask: Tensor  # (N, P) 1 = real prompt token
    completion_ids: Tensor  # (N, T) int, right-padded with pad_token_id after the first eos
    completion_mask: Tensor  # (N, T) 1 = token the loss sees (through the first eos)
    is_truncated: Tensor  # (N,) bool: no eos within max_new_tokens
    prompts: list[str]  # (N,) formatted prompt text (chat template applied)
    completions: list[str]  # (N,) decoded completion text, eos stripped
    rows: list[dict[str, Any]]  # (N,) the dataset row each completion answers (reward columns)
    # --- scores ---
    rewards: Tensor | None = None  # (N,) weighted sum of reward functions; NaN = cannot be scored
    reward_per_func: Tensor | None = None  # (N, F) each reward function's score (NaN = None)
    advantages: Tensor | None = None  # (N,) sequence-level (GRPO) or (N, T) token-level (PPO)
    # --- log-probabilities of the completion tokens ---
    sampler_logprobs: Tensor | None = None  # (N, T) log π_sampler(a_t|s_t), as the generator reported them
    old_logprobs: Tensor | None = None  # (N, T) log π_old(a_t|s_t): the policy that sampled, by the trainer's forward
    ref_logprobs: Tensor | None = None  # (N, T) log π_ref(a_t|s_t), for the KL term
    importance_weights: Tensor | None = None  # (N, T) each token's policy-loss weight for π_sampler ≠ π_old
    extras: dict[str, Tensor] = field(default_factory=dict)  # trainer-specific (N, ...); (N, T, ...) is per token

    def __len__(self) -> int:
        return self.prompt_ids.shape[0]

    def select(self, index: Tensor | list[int]) -> Rollout:
        """The rows ``index`` of every per-completion field."""
        index = torch.as_tensor(index, dtype=torch.long)
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Tensor):
                out[f.name] = value[index.to(value.device)]
            elif isinstance(value, list):
                out[f.name] = [value[i] for i in index.tolist()]
            elif isinstance(value, dict):
                out[f.name] = {k: v[index.to(v.device)] for k, v in value.items()}
        return replace(self, **out)

    def lengths(self) -> Tensor:
        """(N,) tokens each row runs through the model: prompt plus completion, padding excluded."""
        return self.prompt_mask.sum(1) + self.completion_mask.sum(1)

    def trimmed(self) -> Rollout:
        """The same rows without the columns that are padding in every row: leading prompt columns and
        completion columns after every row's last loss token. Exact: positions count from the first real
        token and attention is causal, so no kept token's log-probability changes; the forward pass then
        costs the longest row of this batch, not of the whole rollout."""
        p_keep = int(self.prompt_mask.any(0).nonzero()[0]) if self.prompt_mask.any() else 0
        seen = self.completion_mask.any(0).nonzero()
        width = int(seen[-1]) + 1 if len(seen) else 1  # at least one column, even if every row is masked
        full = self.completion_mask.shape[1]
        if p_keep == 0 and width == full:
            return self
        out = {"prompt_ids": self.prompt_ids[:, p_keep:], "prompt_mask": self.prompt_mask[:, p_keep:]}
        for name in TOKEN_FIELDS:
            value = getattr(self, name)
            if value is not None and value.dim() >= 2:  # advantages may be (N,): per completion
                out[name] = value[:, :width]
        out["extras"] = {k: v[:, :width] if v.dim() >= 2 and v.shape[:2] == self.completion_mask.shape else v
                         for k, v in self.extras.items()}
        return replace(self, **out)


def pad_columns(t: Tensor, width: int, value: int | float = 0) -> Tensor:
    """``t`` (N, T', ...) right-padded to ``width`` columns: a trimmed batch's per-token result back in
    the rollout's shape."""
    return _pad_to(t, width, left=False, value=value)


def _pad_to(t: Tensor, width: int, left: bool, value: int | float) -> Tensor:
    missing = width - t.shape[1]
    if missing == 0:
        return t
    pad = torch.full((t.shape[0], missing, *t.shape[2:]), value, dtype=t.dtype, device=t.device)
    return torch.cat([pad, t] if left else [t, pad], dim=1)


def cat_rollouts(parts: list[Rollout], pad_token_id: int) -> Rollout:
    """Concatenate rollouts whose prompt / completion widths may differ (re-padding each side)."""
    if len(parts) == 1:
        return parts[0]
    out: dict[str, Any] = {}
    for f in fields(Rollout):
        values = [getattr(p, f.name) for p in parts]
        if values[0] is None:
            out[f.name] = None
        elif isinstance(values[0], list):
            out[f.name] = [x for v in values for x in v]
        elif isinstance(values[0], dict):
            out[f.name] = {k: torch.cat([v[k] for v in values]) for k in values[0]}
        elif values[0].dim() == 1:
            out[f.name] = torch.cat(values)
        else:
            left = f.name.startswith("prompt_")
            width = max(v.shape[1] for v in values)
            fill = pad_token_id if f.name.endswith("_ids") else 0
            out[f.name] = torch.cat([_pad_to(v, width, left, fill) for v in values])
    return Rollout(**out)
