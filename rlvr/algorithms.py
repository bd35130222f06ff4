"""The RL math, as pure tensor functions.

Every function takes tensors and plain numbers (never a config object) and never calls
``.item()``, so nothing here forces a device sync. Shapes: ``B`` prompts, ``G`` = group_size
completions per prompt, ``N`` = B * G completions, ``T`` completion tokens.

Variants are chosen once by name through the small dicts at the bottom
(``ADVANTAGE_ESTIMATORS``, ``KL_ESTIMATORS``, ``LOSS_AGGREGATIONS``); each dict's entries share
one signature.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

# --------------------------------------------------------------------------------------------
# Group advantages (outcome rewards, one scalar per completion)
# --------------------------------------------------------------------------------------------


def _group_stats(rewards: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Per-group count, mean and unbiased std over the non-NaN rewards. rewards: (B, G)."""
    valid = ~torch.isnan(rewards)
    filled = torch.where(valid, rewards, torch.zeros_like(rewards))
    count = valid.sum(-1, keepdim=True)  # (B, 1)
    mean = filled.sum(-1, keepdim=True) / count.clamp(min=1)
    sq = torch.where(valid, (rewards - mean) ** 2, torch.zeros_like(rewards)).sum(-1, keepdim=True)
    std = torch.sqrt(sq / (count - 1).clamp(min=1))
    return count, mean, std


def grpo_advantages(rewards: Tensor, eps: float = 1e-4) -> Tensor:
    """GRPO: ``(r - mean_group) / (std_group + eps)`` (Shao et al. 2024, DeepSeekMath, eq. 3).

    rewards: (B, G) with NaN for completions that could not be scored; returns (B, G) with zero
    advantage for NaN rewards and for groups with fewer than two scored completions. The std is
    the unbiased one, as in TRL and verl.
    """
    count, mean, std = _group_stats(rewards)
    adv = (rewards - mean) / (std + eps)
    return torch.where(~torch.isnan(rewards) & (count >= 2), adv, torch.zeros_like(adv))


def dr_grpo_advantages(rewards: Tensor) -> Tensor:
    """Dr. GRPO: ``r - mean_group``, no std division (Liu et al. 2025, "Understanding R1-Zero-Like
    Training", sec. 3.2: the std term up-weights too easy and too hard questions). (B, G) -> (B, G)."""
    count, mean, _ = _group_stats(rewards)
    adv = rewards - mean
    return torch.where(~torch.isnan(rewards) & (count >= 2), adv, torch.zeros_like(adv))


def rloo_advantages(rewards: Tensor) -> Tensor:
    """RLOO: ``r_i - mean_{j != i} r_j`` (Ahmadian et al. 2024, "Back to Basics"), which equals
    ``G / (G - 1) * (r_i - mean)`` over the G scored completions of the group. (B, G) -> (B, G)."""
    count, mean, _ = _group_stats(rewards)
    scale = count / (count - 1).clamp(min=1)
    adv = scale * (rewards - mean)
    return torch.where(~torch.isnan(rewards) & (count >= 2), adv, torch.zeros_like(adv))


def has_reward_spread(rewards: Tensor) -> Tensor:
    """(B, G) -> (B,) bool: the group's scored rewards are not all equal, so its advantages are
    not all zero (DAPO's dynamic sampling keeps only such groups). NaN rewards are ignored."""
    highest = torch.nan_to_num(rewards, nan=float("-inf")).amax(-1)
    lowest = torch.nan_to_num(rewards, nan=float("inf")).amin(-1)
    return highest > lowest


def overlong_penalty(lengths: Tensor, max_length: int, buffer: int, factor: float = 1.0) -> Tensor:
    """DAPO's soft overlong punishment (Yu et al. 2025, eq. 13): 0 up to ``max_length - buffer`` tokens,
    then a linear ramp to ``-factor`` at ``max_length`` (and beyond).

    >>> overlong_penalty(torch.tensor([10, 16, 18, 20]), max_length=20, buffer=4).tolist()
    [-0.0, -0.0, -0.5, -1.0]
    """
    start = max_length - buffer
    return -factor * ((lengths.float() - start).clamp(min=0) / buffer).clamp(max=1.0)


# --------------------------------------------------------------------------------------------
# Token-level advantages with a critic (PPO)
# --------------------------------------------------------------------------------------------


def token_rewards(scores: Tensor, mask: Tensor, kl_per_token: Tensor | None = None,
                  kl_coef: Tensor | float = 0.0) -> Tensor:
    """Per-token rewards (N, T): ``-kl_coef * kl_t`` on every token (classic RLHF PPO, Ziegler et
    al. 2019) plus the verifiable score on the last valid token. scores: (N,); mask: (N, T), each
    row's valid tokens a prefix. NaN scores add nothing (the trainer masks such rows out)."""
    rewards = torch.zeros(mask.shape, dtype=torch.float32, device=mask.device)
    if kl_per_token is not None:
        rewards = rewards - kl_coef * kl_per_token.float() * mask
    last = (mask.sum(-1) - 1).clamp(min=0)
    final = torch.nan_to_num(scores.float(), nan=0.0) * (mask.sum(-1) > 0)
    return rewards.scatter_add(1, last.unsqueeze(1), final.unsqueeze(1))


def gae(rewards: Tensor, values: Tensor, mask: Tensor, gamma: float = 1.0, lam: float = 0.95
        ) -> tuple[Tensor, Tensor]:
    """Generalized advantage estimation (Schulman et al. 2016), the episode ending after the last
    valid token (no bootstrap beyond it).

    rewards, values, mask: (N, T), valid tokens a prefix of each row. Returns (advantages,
    returns), both (N, T) and zero on padding; returns = advantages + values (the critic's target).
    ``δ_t = r_t + γ V_{t+1} - V_t``, ``A_t = δ_t + γ λ A_{t+1}``.
    """
    mask = mask.to(values.dtype)
    values = values * mask
    advantages = torch.zeros_like(values)
    running = torch.zeros_like(values[:, 0])
    for t in reversed(range(values.shape[1])):
        next_value = values[:, t + 1] if t + 1 < values.shape[1] else torch.zeros_like(running)
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        running = (delta + gamma * lam * running) * mask[:, t]
        advantages[:, t] = running
    return advantages, (advantages + values) * mask


def masked_whiten(values: Tensor, mask: Tensor, shift_mean: bool = True, eps: float = 1e-8,
                  all_reduce_sum: Callable[[Tensor], Tensor] | None = None) -> Tensor:
    """Normalise ``values`` to unit variance (and zero mean) over the positions where mask is 1.

    ``all_reduce_sum`` sums a tensor over data-parallel processes: the mean and variance are then
    those of the global batch, so N processes whiten exactly as one process with the whole batch
    would (whitening each process's share alone gives every process its own scale).
    """
    reduce = all_reduce_sum or (lambda t: t)
    keep = mask.bool()
    values = torch.where(keep, values, torch.zeros_like(values))
    count = reduce(keep.sum().to(values.dtype)).clamp(min=1)
    mean = reduce(values.sum()) / count
    var = reduce(torch.where(keep, (values - mean) ** 2, torch.zeros_like(values)).sum()) / count
    whitened = (values - mean) * torch.rsqrt(var + eps)
    if not shift_mean:
        whitened = whitened + mean
    return torch.where(keep, whitened, torch.zeros_like(whitened))


def value_loss(values: Tensor, old_values: Tensor, returns: Tensor, clip: float | None = None
               ) -> tuple[Tensor, Tensor]:
    """Per-token critic loss ``½ (V - R)²``, with PPO's value clipping when ``clip`` is set:
    ``½ max((V - R)², (clip(V, V_old ± clip) - R)²)``. Returns (loss (N, T), is_clipped (N, T))."""
    loss = 0.5 * (values - returns) ** 2
    if clip is None:
        return loss, torch.zeros_like(loss, dtype=torch.bool)
    clipped_values = old_values + torch.clamp(values - old_values, -clip, clip)
    clipped_loss = 0.5 * (clipped_values - returns) ** 2
    return torch.maximum(loss, clipped_loss), clipped_loss > loss


def explained_variance(values: Tensor, returns: Tensor, mask: Tensor) -> Tensor:
    """1 - Var[R - V] / Var[R] over valid tokens: 1 is a perfect critic, 0 no better than a constant."""
    var_returns = masked_mean((returns - masked_mean(returns, mask)) ** 2, mask)
    residual = returns - values
    var_residual = masked_mean((residual - masked_mean(residual, mask)) ** 2, mask)
    return 1.0 - var_residual / var_returns.clamp(min=1e-8)


def adaptive_kl_coef(coef: float, observed_kl: float, target: float, horizon: int, n_steps: int = 1) -> float:
    """Proportional KL controller (Ziegler et al. 2019, sec. 2.2): move the coefficient so the
    observed KL tracks ``target``, by at most ±20% of the error per ``horizon`` samples."""
    error = min(max(observed_kl / target - 1.0, -0.2), 0.2)
    return coef * (1.0 + error * n_steps / horizon)


# --------------------------------------------------------------------------------------------
# Log-probabilities, policy loss, KL
# --------------------------------------------------------------------------------------------


def selective_logprobs(logits: Tensor, ids: Tensor) -> Tensor:
    """``log softmax(logits)[ids]`` without materialising the (B, T, V) log-softmax.

    logits: (B, T, V); ids: (B, T) -> (B, T). Computed row by row so peak memory is one
    sequence's (T, V) for the logsumexp, which matters for 150k-token vocabularies.
    """
    picked = torch.gather(logits, -1, ids.unsqueeze(-1)).squeeze(-1)
    lse = torch.stack([torch.logsumexp(row.float(), dim=-1) for row in logits])
    return picked.float() - lse


@torch.no_grad()
def token_entropy(logits: Tensor) -> Tensor:
    """Entropy of softmax(logits) at every position, ``logsumexp(z) - Σ p z``: (B, T, V) -> (B, T).

    Row by row like ``selective_logprobs`` and without gradient: it is a diagnostic (a policy
    whose entropy collapses towards 0 has stopped exploring), not a loss term.
    """
    out = []
    for row in logits:
        row = row.float()
        lse = torch.logsumexp(row, dim=-1)
        out.append(lse - (torch.softmax(row, dim=-1) * row).sum(-1))
    return torch.stack(out)


def policy_loss(
    logprobs: Tensor,
    old_logprobs: Tensor,
    advantages: Tensor,
    clip_low: float = 0.2,
    clip_high: float = 0.2,
    dual_clip: float | None = None,
) -> tuple[Tensor, Tensor]:
    """Per-token PPO clipped surrogate loss (Schulman et al. 2017), to be minimised.

    logprobs, old_logprobs: (N, T) log π_θ(a_t|s_t) now and under the sampling policy.
    advantages: (N,) per sequence (GRPO) or (N, T) per token (PPO).
    clip_low / clip_high: the ratio is clipped to ``[1 - clip_low, 1 + clip_high]``; a larger
    clip_high is DAPO's "clip-higher" (Yu et al. 2025), which keeps low-probability tokens able
    to rise. dual_clip: ``c > 1`` bounds the loss of negative-advantage tokens by ``-c * A``
    (Ye et al. 2020, "Mastering Complex Control in MOBA Games"), so a huge ratio cannot blow up.

    Returns (loss (N, T), is_clipped (N, T) bool: the clipped branch is the active one).
    """
    if advantages.dim() == 1:
        advantages = advantages.unsqueeze(-1)
    ratio = torch.exp(clamp_log_ratio(logprobs - old_logprobs))
    unclipped = ratio * advantages
    clipped = torch.clamp(ratio, 1.0 - clip_low, 1.0 + clip_high) * advantages
    loss = -torch.minimum(unclipped, clipped)
    is_clipped = clipped < unclipped
    if dual_clip is not None:
        bound = -dual_clip * advantages  # positive where A < 0
        loss = torch.where(advantages < 0, torch.minimum(loss, bound), loss)
    return loss, is_clipped


def ratio_stats(logprobs: Tensor, old_logprobs: Tensor, advantages: Tensor, mask: Tensor,
                clip_low: float = 0.2, clip_high: float = 0.2) -> dict[str, Tensor]:
    """What a practitioner watches for a collapsing update, over the valid tokens of ``mask``:
    ``approx_kl`` (k3 estimate of KL(old || new)), the importance ratio's max and min, and the
    fractions of tokens whose gradient the clip removed from below (ratio < 1 - clip_low with
    A < 0) and from above (ratio > 1 + clip_high with A > 0). All detached scalars.
    """
    log_ratio = clamp_log_ratio(logprobs.detach() - old_logprobs)
    ratio = torch.exp(log_ratio)
    if advantages.dim() == 1:
        advantages = advantages.unsqueeze(-1)
    keep = mask.bool()
    low = (ratio < 1.0 - clip_low) & (advantages < 0)
    high = (ratio > 1.0 + clip_high) & (advantages > 0)
    return {"approx_kl": masked_mean(kl_k3(logprobs.detach(), old_logprobs), mask),
            "ratio_max": torch.where(keep, ratio, torch.full_like(ratio, -torch.inf)).max(),
            "ratio_min": torch.where(keep, ratio, torch.full_like(ratio, torch.inf)).min(),
            "clip_frac_low": masked_mean(low.float(), mask),
            "clip_frac_high": masked_mean(high.float(), mask)}


# A log-ratio beyond ±20 (a factor e^20 between two policies) only arises from a token the other
# policy all but excluded; clamping keeps exp() finite so one such token cannot put inf or NaN
# into the loss (verl's core_algos.kl_penalty and compute_policy_loss clamp at the same bound).
LOG_RATIO_BOUND = 20.0
K3_BOUND = 10.0  # verl clamps its low-variance KL (k3) to [-10, 10] for the same reason


def clamp_log_ratio(log_ratio: Tensor) -> Tensor:
    return log_ratio.clamp(-LOG_RATIO_BOUND, LOG_RATIO_BOUND)


def kl_k1(logprobs: Tensor, ref_logprobs: Tensor) -> Tensor:
    """k1 = log(π/π_ref): unbiased, high variance, can be negative (Schulman 2020, "Approximating
    KL Divergence"). (N, T) -> (N, T). Its expected gradient under π is zero, so it is only a
    reward penalty, never a loss term (the config refuses that)."""
    return clamp_log_ratio(logprobs - ref_logprobs)


def kl_k2(logprobs: Tensor, ref_logprobs: Tensor) -> Tensor:
    """k2 = ½ (log π/π_ref)²: biased, low variance, its gradient is the true KL gradient's."""
    return 0.5 * clamp_log_ratio(logprobs - ref_logprobs) ** 2


def kl_k3(logprobs: Tensor, ref_logprobs: Tensor) -> Tensor:
    """k3 = (r - 1) - log r with r = π_ref/π: unbiased and always ≥ 0 (GRPO's KL term)."""
    log_r = clamp_log_ratio(ref_logprobs - logprobs)
    return (torch.exp(log_r) - 1.0 - log_r).clamp(max=K3_BOUND)


# --------------------------------------------------------------------------------------------
# Loss aggregation
# --------------------------------------------------------------------------------------------
#
# A loss is ``numerator / normalizer``. The trainer sums the normalizer over a whole mini-batch
# (all micro-batches, all processes) so gradient accumulation and data parallelism give exactly
# the gradient of one big batch.


def loss_normalizer(mask: Tensor, mode: str, max_length: int) -> Tensor:
    """The local denominator of ``aggregate_loss``: tokens (token_mean), sequences (seq_mean) or
    sequences × max_length (constant_norm). mask: (N, T) -> scalar."""
    if mode == "token_mean":
        return mask.sum().float()
    if mode == "seq_mean":
        return torch.tensor(float(mask.shape[0]), device=mask.device)
    if mode == "constant_norm":
        return torch.tensor(float(mask.shape[0] * max_length), device=mask.device)
    raise ValueError(f"unknown loss aggregation {mode!r}; choose from {sorted(LOSS_AGGREGATIONS)}")


def aggregate_loss(
    per_token: Tensor, mask: Tensor, mode: str, max_length: int, normalizer: Tensor | None = None
) -> Tensor:
    """Reduce a per-token loss (N, T) over the valid tokens of ``mask`` (N, T) to a scalar.

    - ``token_mean``: every valid token weighs the same (DAPO's token-level loss).
    - ``seq_mean``: mean over each sequence's tokens, then over sequences (the original GRPO).
    - ``constant_norm``: token sum divided by N × max_length (Dr. GRPO), free of length bias.

    ``normalizer`` replaces the local denominator (see ``loss_normalizer``).
    """
    if normalizer is None:
        normalizer = loss_normalizer(mask, mode, max_length)
    # where(), not per_token * mask: an inf at a masked position would turn into NaN (inf * 0)
    kept = torch.where(mask.bool(), per_token, torch.zeros_like(per_token))
    if mode == "seq_mean":
        numerator = (kept.sum(-1) / mask.sum(-1).clamp(min=1)).sum()
    else:
        numerator = kept.sum()
    return numerator / normalizer.clamp(min=1)


def masked_mean(values: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``values`` over the positions where ``mask`` is 1 (0 when the mask is empty);
    masked positions never reach the sum, so an inf or NaN there cannot leak into the mean."""
    keep = mask.bool()
    return torch.where(keep, values, torch.zeros_like(values)).sum() / keep.sum().clamp(min=1).to(values.dtype)


ADVANTAGE_ESTIMATORS = {"grpo": grpo_advantages, "dr_grpo": dr_grpo_advantages, "rloo": rloo_advantages}
KL_ESTIMATORS = {"k1": kl_k1, "k2": kl_k2, "k3": kl_k3}
LOSS_AGGREGATIONS = ("token_mean", "seq_mean", "constant_norm")
