"""The RL math, as pure tensor functions.

Every function takes tensors and plain numbers (never a config object) and never calls
``.item()``, so nothing here forces a device sync. Shapes: ``B`` prompts, ``G`` = group_size
completions per prompt, ``N`` = B * G completions, ``T`` completion tokens.

Variants are chosen once by name through one registry per family (``ADVANTAGE_ESTIMATORS``,
``POLICY_LOSSES``, ``IMPORTANCE_SAMPLING``, ``KL_ESTIMATORS``, ``LOSS_AGGREGATIONS``); a registry's entries share one
signature, and the config's choices and docs are derived from them (``rlvr.registry``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from rlvr.registry import Registry

# Sums a tensor over data-parallel processes (every process calls it, in the same order); the
# identity on one process. Passed in by the trainer so this module stays free of accelerate.
AllReduceSum = Callable[[Tensor], Tensor]

# fn(rewards (B, G), *, all_reduce_sum=None) -> advantages (B, G); NaN rewards get 0.
ADVANTAGE_ESTIMATORS = Registry("advantage estimator")
# fn(logprobs, old_logprobs, advantages, mask, clip_low, clip_high, dual_clip) -> (loss, is_clipped), (N, T)
POLICY_LOSSES = Registry("policy loss")
# fn(log_ratio (N, T), cap) -> (weights, is_capped), (N, T): see importance_weights
IMPORTANCE_SAMPLING = Registry("importance sampling")
# fn(logprobs, ref_logprobs) -> (N, T)
KL_ESTIMATORS = Registry("KL estimator")
# fn(mask (N, T), max_length) -> (token weights (N, T), local normalizer): see aggregate_loss
LOSS_AGGREGATIONS = Registry("loss aggregation")

# --------------------------------------------------------------------------------------------
# Group advantages (outcome rewards, one scalar per completion)
# --------------------------------------------------------------------------------------------
#
# Each process samples whole groups, so these need no communication: ``all_reduce_sum`` is
# accepted (the registry's shared signature) and unused.


def _group_stats(rewards: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Per-group count, mean and unbiased std over the non-NaN rewards. rewards: (B, G)."""
    valid = ~torch.isnan(rewards)
    filled = torch.where(valid, rewards, torch.zeros_like(rewards))
    count = valid.sum(-1, keepdim=True)  # (B, 1)
    mean = filled.sum(-1, keepdim=True) / count.clamp(min=1)
    sq = torch.where(valid, (rewards - mean) ** 2, torch.zeros_like(rewards)).sum(-1, keepdim=True)
    std = torch.sqrt(sq / (count - 1).clamp(min=1))
    return count, mean, std


@ADVANTAGE_ESTIMATORS.register("grpo")
def grpo_advantages(rewards: Tensor, *, all_reduce_sum: AllReduceSum | None = None, eps: float = 1e-4
                    ) -> Tensor:
    """GRPO (Shao et al. 2024): ``(r - mean_group) / (std_group + eps)`` within each group.

    DeepSeekMath, eq. 3. rewards: (B, G) with NaN for completions that could not be scored;
    returns (B, G) with zero advantage for NaN rewards and for groups with fewer than two scored
    completions. The std is the unbiased one, as in TRL and verl.
    """
    count, mean, std = _group_stats(rewards)
    adv = (rewards - mean) / (std + eps)
    return torch.where(~torch.isnan(rewards) & (count >= 2), adv, torch.zeros_like(adv))


@ADVANTAGE_ESTIMATORS.register("dr_grpo")
def dr_grpo_advantages(rewards: Tensor, *, all_reduce_sum: AllReduceSum | None = None) -> Tensor:
    """Dr. GRPO (Liu et al. 2025): ``r - mean_group``, no division by the group's std.

    "Understanding R1-Zero-Like Training", sec. 3.2: the std term up-weights too easy and too
    hard questions. (B, G) -> (B, G).
    """
    count, mean, _ = _group_stats(rewards)
    adv = rewards - mean
    return torch.where(~torch.isnan(rewards) & (count >= 2), adv, torch.zeros_like(adv))


@ADVANTAGE_ESTIMATORS.register("rloo")
def rloo_advantages(rewards: Tensor, *, all_reduce_sum: AllReduceSum | None = None) -> Tensor:
    """RLOO (Ahmadian et al. 2024): ``r_i`` minus the mean of the group's other rewards.

    "Back to Basics"; equals ``G / (G - 1) * (r_i - mean)`` over the G scored completions of the
    group. (B, G) -> (B, G).
    """
    count, mean, _ = _group_stats(rewards)
    scale = count / (count - 1).clamp(min=1)
    adv = scale * (rewards - mean)
    return torch.where(~torch.isnan(rewards) & (count >= 2), adv, torch.zeros_like(adv))


# --------------------------------------------------------------------------------------------
# Advantages normalised over the global batch (REINFORCE++)
# --------------------------------------------------------------------------------------------
#
# Hu et al. 2025, "REINFORCE++: Stabilizing Critic-Free Policy Optimization with Global Advantage
# Normalization" (arXiv 2501.03262): a group's own std is a noisy, biased scale (numerator and
# denominator are dependent, and it explodes when a group's rewards nearly agree); the std of the
# whole batch is not. "Whole" means over every process: ``all_reduce_sum`` must sum over all of
# them, or N processes would each take their own scale.
#
# The KL to the reference is a loss term here (``kl_coef``, like OpenRLHF's ``--use_kl_loss``), not
# a per-token reward, so every token's return-to-go is the completion's reward: one advantage per
# completion, normalised over the batch's scored completions.


@ADVANTAGE_ESTIMATORS.register("reinforce_pp")
def reinforce_pp_advantages(rewards: Tensor, *, all_reduce_sum: AllReduceSum | None = None,
                            eps: float = 1e-8) -> Tensor:
    """REINFORCE++ (Hu et al. 2025): rewards normalised over the global batch, no group baseline.

    ``(r - mean_batch) / std_batch`` over the scored completions of every process. Needs no group,
    so it works with ``group_size: 1`` too; a group whose rewards all agree still gets a nonzero
    advantage (its reward against the batch's). (B, G) -> (B, G), 0 for NaN rewards.
    """
    valid = ~torch.isnan(rewards)
    return masked_whiten(torch.nan_to_num(rewards, nan=0.0), valid, eps=eps, all_reduce_sum=all_reduce_sum)


@ADVANTAGE_ESTIMATORS.register("reinforce_pp_baseline")
def reinforce_pp_baseline_advantages(rewards: Tensor, *, all_reduce_sum: AllReduceSum | None = None,
                                     eps: float = 1e-8) -> Tensor:
    """REINFORCE++-baseline (Hu et al. 2025): ``r - mean_group``, divided by the global batch's std.

    The group mean is the baseline (it reshapes rewards, as in Dr. GRPO); the scale is the std of
    those centred rewards over the whole batch, on every process. Their batch mean is 0 (each
    group's centred rewards sum to 0), so the paper's global re-centring is left out: it would
    only add rounding noise to groups whose rewards all agree, which must stay exactly 0.
    Groups with fewer than two scored completions get 0 and take no part in the std.
    (B, G) -> (B, G).
    """
    count, mean, _ = _group_stats(rewards)
    keep = ~torch.isnan(rewards) & (count >= 2)
    centred = torch.where(keep, rewards - mean, torch.zeros_like(rewards))
    _, var = _masked_moments(centred, keep, all_reduce_sum)
    return centred * torch.rsqrt(var + eps)


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


def _masked_moments(values: Tensor, keep: Tensor, all_reduce_sum: AllReduceSum | None
                    ) -> tuple[Tensor, Tensor]:
    """Mean and (population) variance of ``values`` where ``keep``, over every process's share."""
    reduce = all_reduce_sum or (lambda t: t)
    values = torch.where(keep, values, torch.zeros_like(values))
    count = reduce(keep.sum().to(values.dtype)).clamp(min=1)
    mean = reduce(values.sum()) / count
    var = reduce(torch.where(keep, (values - mean) ** 2, torch.zeros_like(values)).sum()) / count
    return mean, var


def masked_whiten(values: Tensor, mask: Tensor, shift_mean: bool = True, eps: float = 1e-8,
                  all_reduce_sum: AllReduceSum | None = None) -> Tensor:
    """Normalise ``values`` to unit variance (and zero mean) over the positions where mask is 1.

    ``all_reduce_sum`` sums a tensor over data-parallel processes: the mean and variance are then
    those of the global batch, so N processes whiten exactly as one process with the whole batch
    would (whitening each process's share alone gives every process its own scale).
    """
    keep = mask.bool()
    values = torch.where(keep, values, torch.zeros_like(values))
    mean, var = _masked_moments(values, keep, all_reduce_sum)
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


# A log-ratio beyond ±20 (a factor e^20 between two policies) only arises from a token the other
# policy all but excluded; clamping keeps exp() finite so one such token cannot put inf or NaN
# into the loss (verl's core_algos.kl_penalty and compute_policy_loss clamp at the same bound).
LOG_RATIO_BOUND = 20.0
K3_BOUND = 10.0  # verl clamps its low-variance KL (k3) to [-10, 10] for the same reason


def clamp_log_ratio(log_ratio: Tensor) -> Tensor:
    return log_ratio.clamp(-LOG_RATIO_BOUND, LOG_RATIO_BOUND)


# --------------------------------------------------------------------------------------------
# Policy losses
# --------------------------------------------------------------------------------------------
#
# One signature for all: logprobs, old_logprobs: (N, T) log π_θ(a_t|s_t) now and under the
# sampling policy; advantages: (N,) per completion or (N, T) per token; mask: (N, T) valid tokens;
# clip_low / clip_high: the clip range [1 - clip_low, 1 + clip_high]; dual_clip: None or c > 1.
# Each returns (loss (N, T) to be minimised, is_clipped (N, T) bool: the clip changed this
# token's update); ``aggregate_loss`` then reduces the loss over the valid tokens.


def _per_token(advantages: Tensor) -> Tensor:
    return advantages.unsqueeze(-1) if advantages.dim() == 1 else advantages


def _clipped_surrogate(ratio: Tensor, advantages: Tensor, clip_low: float, clip_high: float,
                       dual_clip: float | None) -> tuple[Tensor, Tensor]:
    """``-min(r A, clip(r, 1 - clip_low, 1 + clip_high) A)``, optionally dual-clipped: PPO's
    pessimistic bound, for whatever ratio an objective defines (per token or per sequence)."""
    unclipped = ratio * advantages
    clipped = torch.clamp(ratio, 1.0 - clip_low, 1.0 + clip_high) * advantages
    loss = -torch.minimum(unclipped, clipped)
    is_clipped = clipped < unclipped
    if dual_clip is not None:
        bound = -dual_clip * advantages  # positive where A < 0
        loss = torch.where(advantages < 0, torch.minimum(loss, bound), loss)
    return loss, is_clipped


@POLICY_LOSSES.register("ppo_clip")
def ppo_clip_loss(logprobs: Tensor, old_logprobs: Tensor, advantages: Tensor, mask: Tensor,
                  clip_low: float = 0.2, clip_high: float = 0.2, dual_clip: float | None = None
                  ) -> tuple[Tensor, Tensor]:
    """PPO's clipped surrogate on each token's ratio π/π_old (Schulman et al. 2017).

    A larger clip_high is DAPO's "clip-higher" (Yu et al. 2025), which keeps low-probability
    tokens able to rise. dual_clip: ``c > 1`` bounds the loss of negative-advantage tokens by
    ``-c * A`` (Ye et al. 2020, "Mastering Complex Control in MOBA Games"), so a huge ratio cannot
    blow up. A token whose clipped branch is active gets no gradient. ``mask`` is not needed.
    """
    ratio = torch.exp(clamp_log_ratio(logprobs - old_logprobs))
    return _clipped_surrogate(ratio, _per_token(advantages), clip_low, clip_high, dual_clip)


def _sequence_log_ratio(logprobs: Tensor, old_logprobs: Tensor, mask: Tensor) -> Tensor:
    """(N, 1) ``log s_i = mean_t (log π - log π_old)`` over each row's valid tokens (0 for an empty row)."""
    keep = mask.bool()
    diff = torch.where(keep, logprobs - old_logprobs, torch.zeros_like(logprobs))
    return clamp_log_ratio(diff.sum(-1, keepdim=True) / keep.sum(-1, keepdim=True).clamp(min=1))


@POLICY_LOSSES.register("gspo")
def gspo_loss(logprobs: Tensor, old_logprobs: Tensor, advantages: Tensor, mask: Tensor,
              clip_low: float = 0.2, clip_high: float = 0.2, dual_clip: float | None = None
              ) -> tuple[Tensor, Tensor]:
    """GSPO (Zheng et al. 2025): one length-normalised ratio per sequence, clipped per sequence.

    "Group Sequence Policy Optimization" (arXiv 2507.18071):
    ``s_i = (π(y_i|x) / π_old(y_i|x))^(1/|y_i|) = exp(mean_t (log π - log π_old))`` replaces the
    per-token ratio, and the clip keeps or drops a whole sequence. The sequence's loss is written
    on each of its tokens, so ``seq_mean`` aggregation gives the paper's objective exactly.
    advantages: (N,) only (one per sequence). The paper's clip range is 3e-4 / 4e-4, far below
    PPO's 0.2: a geometric mean of token ratios stays much closer to 1. On-policy (one mini-batch,
    one epoch) ``s_i = 1`` and the gradient equals GRPO's with ``seq_mean``; it differs only once
    updates go off-policy.
    """
    if advantages.dim() != 1:
        raise ValueError(f"gspo weighs a whole sequence by one advantage: advantages must be (N,), got "
                         f"{tuple(advantages.shape)}; gspo_token takes per-token advantages")
    ratio = torch.exp(_sequence_log_ratio(logprobs, old_logprobs, mask))  # (N, 1)
    loss, is_clipped = _clipped_surrogate(ratio, advantages.unsqueeze(-1), clip_low, clip_high, dual_clip)
    return loss.expand(mask.shape), is_clipped.expand(mask.shape)


@POLICY_LOSSES.register("gspo_token")
def gspo_token_loss(logprobs: Tensor, old_logprobs: Tensor, advantages: Tensor, mask: Tensor,
                    clip_low: float = 0.2, clip_high: float = 0.2, dual_clip: float | None = None
                    ) -> tuple[Tensor, Tensor]:
    """GSPO-token (Zheng et al. 2025): GSPO's ratio value with a per-token gradient.

    ``s_i,t = sg[s_i] · π(y_i,t) / sg[π(y_i,t)]``: its value is GSPO's ``s_i`` on every
    token (same clipping), but its gradient reaches token t only through ``log π(y_i,t)``, so
    per-token advantages (N, T) weigh each token's own gradient. With one advantage per sequence
    and ``seq_mean`` the total gradient equals GSPO's (as the paper's gradient analysis notes).
    """
    keep = mask.bool()
    # log π - sg[log π]: 0 in value, the identity in gradient (where(): -inf - -inf at padding is NaN)
    own = torch.where(keep, logprobs - logprobs.detach(), torch.zeros_like(logprobs))
    ratio = torch.exp(_sequence_log_ratio(logprobs, old_logprobs, mask).detach() + own)
    return _clipped_surrogate(ratio, _per_token(advantages), clip_low, clip_high, dual_clip)


@POLICY_LOSSES.register("cispo")
def cispo_loss(logprobs: Tensor, old_logprobs: Tensor, advantages: Tensor, mask: Tensor,
               clip_low: float = 0.2, clip_high: float = 0.2, dual_clip: float | None = None
               ) -> tuple[Tensor, Tensor]:
    """CISPO (MiniMax 2025): the clipped ratio as a detached weight on ``A·log π``; no token is dropped.

    MiniMax-M1 report (arXiv 2506.13585), sec. 3.1: the loss is
    ``-sg[clip(r_t, 1 - clip_low, 1 + clip_high)] · A · log π_t``. PPO's clip removes the whole
    gradient of a token beyond the range (often the rare "However", "Wait" tokens that fork a
    reasoning path); CISPO only caps its importance weight, so every token keeps a gradient
    ``-clip(r) A ∇log π``. The paper sets no lower bound (clip_low 1: weights ≥ 0) and tunes only
    clip_high. Its loss *value* is ``-w A log π``, not PPO's ``-r A``. dual_clip does not apply (the
    weight is already bounded); is_clipped marks the tokens whose weight was capped.
    """
    if dual_clip is not None:
        raise ValueError("cispo caps the importance weight itself: dual_clip applies to ppo_clip and gspo")
    ratio = torch.exp(clamp_log_ratio(logprobs - old_logprobs)).detach()
    weight = torch.clamp(ratio, 1.0 - clip_low, 1.0 + clip_high)
    return -weight * _per_token(advantages) * logprobs, (ratio < 1.0 - clip_low) | (ratio > 1.0 + clip_high)


def ratio_stats(logprobs: Tensor, old_logprobs: Tensor, advantages: Tensor, mask: Tensor,
                is_clipped: Tensor) -> dict[str, Tensor]:
    """What a practitioner watches for a collapsing update, over the valid tokens of ``mask``:
    ``approx_kl`` (k3 estimate of KL(old || new)), the per-token importance ratio's max and min,
    and the fractions of tokens the policy loss clipped (``is_clipped``, from any entry of
    ``POLICY_LOSSES``) with a negative advantage (``clip_frac_low``: for ppo_clip and gspo, ratio
    below 1 - clip_low) and with a positive one (``clip_frac_high``: above 1 + clip_high). All
    detached scalars.
    """
    log_ratio = clamp_log_ratio(logprobs.detach() - old_logprobs)
    ratio = torch.exp(log_ratio)
    advantages = _per_token(advantages)
    keep = mask.bool()
    return {"approx_kl": masked_mean(kl_k3(logprobs.detach(), old_logprobs), mask),
            "ratio_max": torch.where(keep, ratio, torch.full_like(ratio, -torch.inf)).max(),
            "ratio_min": torch.where(keep, ratio, torch.full_like(ratio, torch.inf)).min(),
            "clip_frac_low": masked_mean((is_clipped & (advantages < 0)).float(), mask),
            "clip_frac_high": masked_mean((is_clipped & (advantages > 0)).float(), mask)}


# --------------------------------------------------------------------------------------------
# Sampler / trainer mismatch: importance sampling of the rollout
# --------------------------------------------------------------------------------------------
#
# The tokens were drawn by the sampler π_sampler (another engine, another precision, a KV cache),
# not by π_old as the trainer's forward computes it; the two differ numerically, so even the first
# "on-policy" update is off-policy (Yao et al. 2025, "Your Efficient RL Framework Secretly Brings
# You Off-Policy RL Training", fengyao.notion.site/off-policy-rl). Each token's policy loss is then
# weighted by the detached ratio ρ = π_old / π_sampler, truncated or masked at a cap C so that one
# token the sampler all but excluded cannot dominate the batch. Entries share one signature:
# log_ratio (N, T) = log ρ per token, or the sequence's log ρ on each of its tokens; cap: C > 1.
# Each returns (weights (N, T), is_capped (N, T) bool: the cap changed this token's weight).


def sampler_log_ratio(old_logprobs: Tensor, sampler_logprobs: Tensor, mask: Tensor, level: str) -> Tensor:
    """(N, T) ``log ρ = log π_old - log π_sampler`` per token (``level="token"``), or per sequence
    (``"sequence"``): ``Σ_t log ρ_t`` over the valid tokens, the log of the product of token ratios,
    written on each token. The product is the sequence's likelihood ratio π_old(y)/π_sampler(y), so
    uncapped it makes the estimate unbiased (as TRL's ``sequence_*`` modes and verl's ``sequence``
    level); a geometric mean (verl's ``geometric``) is not the ratio of any two probabilities and
    corrects nothing in expectation. 0 on padding; clamped to ±20 like every log-ratio here.
    """
    keep = mask.bool()
    log_ratio = torch.where(keep, old_logprobs - sampler_logprobs, torch.zeros_like(old_logprobs))
    if level == "sequence":
        log_ratio = torch.where(keep, log_ratio.sum(-1, keepdim=True), torch.zeros_like(log_ratio))
    elif level != "token":
        raise ValueError(f"importance sampling level must be 'token' or 'sequence', got {level!r}")
    return clamp_log_ratio(log_ratio)


@IMPORTANCE_SAMPLING.register("none")
def no_importance_sampling(log_ratio: Tensor, cap: float) -> tuple[Tensor, Tensor]:
    """No correction: the sampler's tokens are treated as π_old's (weights 1)."""
    return torch.ones_like(log_ratio), torch.zeros_like(log_ratio, dtype=torch.bool)


@IMPORTANCE_SAMPLING.register("tis")
def truncated_importance_sampling(log_ratio: Tensor, cap: float) -> tuple[Tensor, Tensor]:
    """Truncated IS (Yao et al. 2025): weight ``min(π_old/π_sampler, C)``, every token kept.

    Truncating from above only bounds the variance a rare token could add (bias traded for it);
    ratios below 1 are kept as they are. TRL's ``vllm_importance_sampling_mode="token_truncate"`` /
    ``"sequence_truncate"`` and verl's ``rollout_is_mode: truncate``.
    """
    ratio = torch.exp(log_ratio)
    return ratio.clamp(max=cap), ratio > cap


@IMPORTANCE_SAMPLING.register("mis")
def masked_importance_sampling(log_ratio: Tensor, cap: float) -> tuple[Tensor, Tensor]:
    """Masked IS (Liu, Li et al. 2025): weight ``π_old/π_sampler`` inside ``[1/C, C]``, 0 outside.

    "When Speed Kills Stability" (yingru.notion.site): a token (or, at sequence level, a whole
    sequence) whose ratio leaves the range is rejected rather than down-weighted: its policy
    gradient is 0, as in verl's ``rollout_is_mode: mask`` (lower bound 1/C by default there too) and
    TRL's ``*_mask`` modes. It still counts in the loss normaliser (TRL's choice), so the weight of
    the other tokens does not grow with the number rejected.
    """
    ratio = torch.exp(log_ratio)
    outside = (ratio < 1.0 / cap) | (ratio > cap)
    return torch.where(outside, torch.zeros_like(ratio), ratio), outside


def importance_weights(old_logprobs: Tensor, sampler_logprobs: Tensor, mask: Tensor, mode: str, level: str,
                       cap: float) -> tuple[Tensor, dict[str, Tensor]]:
    """The detached weight (N, T) that multiplies each token's policy loss, by the ``IMPORTANCE_SAMPLING``
    entry ``mode`` at ``level``, and mismatch metrics over the valid tokens of ``mask``:
    ``logprob_diff_mean`` (mean |log π_old - log π_sampler| per token), ``is_ratio_max`` /
    ``is_ratio_min`` (the ratio at ``level``, before the cap) and ``is_capped_frac`` (tokens whose
    weight the cap truncated or masked). All inputs (N, T); weights are 0 on padding.
    """
    keep = mask.bool()
    old_logprobs, sampler_logprobs = old_logprobs.detach(), sampler_logprobs.detach()
    log_ratio = sampler_log_ratio(old_logprobs, sampler_logprobs, mask, level)
    weights, capped = IMPORTANCE_SAMPLING[mode](log_ratio, cap)
    ratio = torch.exp(log_ratio)
    stats = {"logprob_diff_mean": masked_mean((old_logprobs - sampler_logprobs).abs(), mask),
             "is_ratio_max": torch.where(keep, ratio, torch.full_like(ratio, -torch.inf)).max(),
             "is_ratio_min": torch.where(keep, ratio, torch.full_like(ratio, torch.inf)).min(),
             "is_capped_frac": masked_mean((capped & keep).float(), mask)}
    return torch.where(keep, weights, torch.zeros_like(weights)), stats


# --------------------------------------------------------------------------------------------
# KL estimators (Schulman 2020, "Approximating KL Divergence")
# --------------------------------------------------------------------------------------------


@KL_ESTIMATORS.register("k1")
def kl_k1(logprobs: Tensor, ref_logprobs: Tensor) -> Tensor:
    """k1 = log(π/π_ref): unbiased, high variance, can be negative; a reward penalty, not a loss.

    (N, T) -> (N, T). Its expected gradient under π is zero, so it is only a reward penalty,
    never a loss term (the config refuses that).
    """
    return clamp_log_ratio(logprobs - ref_logprobs)


@KL_ESTIMATORS.register("k2")
def kl_k2(logprobs: Tensor, ref_logprobs: Tensor) -> Tensor:
    """k2 = ½ (log π/π_ref)²: biased, low variance, its gradient is the true KL gradient's."""
    return 0.5 * clamp_log_ratio(logprobs - ref_logprobs) ** 2


@KL_ESTIMATORS.register("k3")
def kl_k3(logprobs: Tensor, ref_logprobs: Tensor) -> Tensor:
    """k3 = (r - 1) - log r with r = π_ref/π: unbiased and always ≥ 0 (GRPO's KL term)."""
    log_r = clamp_log_ratio(ref_logprobs - logprobs)
    return (torch.exp(log_r) - 1.0 - log_r).clamp(max=K3_BOUND)


# --------------------------------------------------------------------------------------------
# Loss aggregation
# --------------------------------------------------------------------------------------------
#
# A loss is ``Σ weight · per_token_loss / normalizer``. The trainer sums the normalizer over a
# whole mini-batch (all micro-batches, all processes) so gradient accumulation and data
# parallelism give exactly the gradient of one big batch.


@LOSS_AGGREGATIONS.register("token_mean")
def token_mean(mask: Tensor, max_length: int) -> tuple[Tensor, Tensor]:
    """Every valid token weighs the same (DAPO's token-level loss, Yu et al. 2025)."""
    return mask.float(), mask.sum().float()


@LOSS_AGGREGATIONS.register("seq_mean")
def seq_mean(mask: Tensor, max_length: int) -> tuple[Tensor, Tensor]:
    """Mean over each sequence's tokens, then over sequences (the original GRPO, and GSPO)."""
    weights = mask.float() / mask.sum(-1, keepdim=True).clamp(min=1)
    return weights, torch.tensor(float(mask.shape[0]), device=mask.device)


@LOSS_AGGREGATIONS.register("constant_norm")
def constant_norm(mask: Tensor, max_length: int) -> tuple[Tensor, Tensor]:
    """Token sum divided by N × max_length (Dr. GRPO, Liu et al. 2025): free of length bias."""
    return mask.float(), torch.tensor(float(mask.shape[0] * max_length), device=mask.device)


def loss_normalizer(mask: Tensor, mode: str, max_length: int) -> Tensor:
    """The local denominator of ``aggregate_loss`` (tokens, sequences, or sequences ×
    max_length, by ``mode``). mask: (N, T) -> scalar."""
    return LOSS_AGGREGATIONS[mode](mask, max_length)[1]


def aggregate_loss(
    per_token: Tensor, mask: Tensor, mode: str, max_length: int, normalizer: Tensor | None = None
) -> Tensor:
    """Reduce a per-token loss (N, T) over the valid tokens of ``mask`` (N, T) to a scalar, as the
    ``LOSS_AGGREGATIONS`` entry ``mode`` weighs them. ``normalizer`` replaces the local denominator
    (see ``loss_normalizer``)."""
    weights, local = LOSS_AGGREGATIONS[mode](mask, max_length)
    if normalizer is None:
        normalizer = local
    # where(), not per_token * mask: an inf at a masked position would turn into NaN (inf * 0)
    kept = torch.where(mask.bool(), per_token, torch.zeros_like(per_token))
    return (kept * weights).sum() / normalizer.clamp(min=1)


def masked_mean(values: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``values`` over the positions where ``mask`` is 1 (0 when the mask is empty);
    masked positions never reach the sum, so an inf or NaN there cannot leak into the mean."""
    keep = mask.bool()
    return torch.where(keep, values, torch.zeros_like(values)).sum() / keep.sum().clamp(min=1).to(values.dtype)
