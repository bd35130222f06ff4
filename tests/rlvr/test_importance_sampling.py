"""Importance sampling of the rollout (sampler ≠ trainer): the weights against hand-computed values
and a plain loop, and, with a real bf16-vs-fp32 mismatch, the corrected policy gradient against the
exact on-policy one."""

import math

import pytest
import torch

from rlvr import algorithms as A
from rlvr.data import format_prompt
from rlvr.modeling import completion_logprobs, load_causal_lm, load_tokenizer
from rlvr.rollout import KVCacheSampler, SamplingParams, encode_prompts
from rlvr.toy import arithmetic_splits

# Two rows: token ratios π_old/π_sampler of 3, 1, 1/4, and 1.5 followed by padding.
RATIOS = torch.tensor([[3.0, 1.0, 0.25], [1.5, 1.0, 1.0]])
MASK = torch.tensor([[1, 1, 1], [1, 0, 0]])


def _logprobs():
    sampler = torch.log(torch.tensor([[0.1, 0.5, 0.8], [0.4, 0.3, 0.3]]))
    old = sampler + torch.log(RATIOS)
    old[1, 1:] = -torch.inf  # padding may hold anything: it must not reach weights or metrics
    return old, sampler


@pytest.mark.parametrize("mode, level, expected", [
    ("none", "token", [[1, 1, 1], [1, 0, 0]]),
    ("tis", "token", [[2, 1, 0.25], [1.5, 0, 0]]),  # truncated at C = 2 from above only
    ("mis", "token", [[0, 1, 0], [1.5, 0, 0]]),  # 3 > C and 1/4 < 1/C: rejected
    ("tis", "sequence", [[0.75] * 3, [1.5, 0, 0]]),  # 3 · 1 · 1/4, padding left out of the product
    ("mis", "sequence", [[0.75] * 3, [1.5, 0, 0]]),
])
def test_importance_weights_hand_computed(mode, level, expected):
    old, sampler = _logprobs()
    weights, _ = A.importance_weights(old, sampler, MASK, mode, level, cap=2.0)
    assert torch.allclose(weights, torch.tensor(expected, dtype=torch.float), atol=1e-6)


def test_mismatch_metrics_hand_computed():
    old, sampler = _logprobs()
    _, stats = A.importance_weights(old, sampler, MASK, "tis", "token", cap=2.0)
    assert stats["logprob_diff_mean"].item() == pytest.approx((math.log(3) + 0 + math.log(4) + math.log(1.5)) / 4)
    assert stats["is_ratio_max"].item() == pytest.approx(3.0) and stats["is_ratio_min"].item() == pytest.approx(0.25)
    assert stats["is_capped_frac"].item() == pytest.approx(1 / 4)  # the 3
    _, stats = A.importance_weights(old, sampler, MASK, "mis", "token", cap=2.0)
    assert stats["is_capped_frac"].item() == pytest.approx(2 / 4)  # the 3 and the 1/4
    _, stats = A.importance_weights(old, sampler, MASK, "mis", "sequence", cap=2.0)
    assert stats["is_ratio_max"].item() == pytest.approx(1.5) and stats["is_capped_frac"].item() == 0


@pytest.mark.parametrize("level", ["token", "sequence"])
@pytest.mark.parametrize("mode", ["tis", "mis"])
def test_importance_weights_equal_a_plain_loop(mode, level):
    g = torch.Generator().manual_seed(0)
    old, sampler = -torch.rand(5, 7, generator=g) * 3, -torch.rand(5, 7, generator=g) * 3
    lengths = [7, 3, 1, 5, 0]
    mask = torch.tensor([[int(t < n) for t in range(7)] for n in lengths])
    cap = 1.7
    weights, _ = A.importance_weights(old, sampler, mask, mode, level, cap)
    for i, n in enumerate(lengths):
        token_ratios = [math.exp(old[i, t] - sampler[i, t]) for t in range(n)]
        for t in range(7):
            ratio = token_ratios[t] if level == "token" and t < n else math.prod(token_ratios)
            if t >= n:
                expected = 0.0
            elif mode == "tis":
                expected = min(ratio, cap)
            else:
                expected = ratio if 1 / cap <= ratio <= cap else 0.0
            assert weights[i, t].item() == pytest.approx(expected, rel=1e-5, abs=1e-7), (i, t)


def test_sequence_log_ratio_is_clamped_so_a_long_mismatch_stays_finite():
    old, sampler = torch.zeros(1, 100), torch.full((1, 100), -1.0)  # product e^100
    weights, stats = A.importance_weights(old, sampler, torch.ones(1, 100), "mis", "sequence", cap=2.0)
    assert (weights == 0).all() and torch.isfinite(stats["is_ratio_max"])


# ------------------------------------------------------------------ a real dtype mismatch


def test_tis_corrects_the_policy_gradient_of_a_bf16_sampler(toy_dir):
    """A bf16 sampler (autocast, as ``generation_dtype: bfloat16``) for an fp32 trainer.

    A one-token decision keeps everything exact: after ``... A: `` the toy picks the answer's first
    digit; reward 1 for the right one, advantage r - E_π[r]. Over the whole vocabulary, the expected
    gradient of each estimator is a sum, with no sampling noise:
      on-policy   Σ_y π(y) A(y) ∇log π(y)                (the exact policy gradient)
      uncorrected Σ_y μ(y) A(y) ∇log π(y)                (tokens from the sampler μ, loss as if π)
      tis         Σ_y μ(y) w(y) A(y) ∇log π(y),  w = min(π/μ, C) from ``importance_weights``.
    μ is read from the sampler's own forward, checked against the log-probs ``KVCacheSampler``
    reports for the tokens it draws. Without the weights (or with them inverted) the corrected
    estimate is no closer than the uncorrected one, so the test cannot pass by accident.
    """
    tok, model = load_tokenizer(toy_dir), load_causal_lm(toy_dir)
    _, test = arithmetic_splits(0)
    rows, temperature = test[:32], 0.7
    ids, mask = encode_prompts(tok, [format_prompt(tok, r["prompt"]) + " " for r in rows])
    vocab, n = model.config.vocab_size, len(rows)

    def next_token_logprobs(bf16: bool) -> torch.Tensor:  # (n, V): the sampler's prefill forward
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = model(input_ids=ids, attention_mask=mask, position_ids=(mask.cumsum(-1) - 1).clamp(min=0),
                        logits_to_keep=1)
        return torch.log_softmax(out.logits[:, -1].float() / temperature, -1)

    log_mu = next_token_logprobs(bf16=True)
    torch.manual_seed(0)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        drawn = KVCacheSampler(model, tok.pad_token_id, tok.eos_token_id).generate(
            ids, mask, 8, SamplingParams(1, temperature=temperature))
    reported = log_mu.repeat_interleave(8, 0).gather(-1, drawn.completion_ids)
    assert torch.allclose(drawn.sampler_logprobs, reported, atol=1e-5)

    # every (prompt, token) pair as a one-token completion, through the trainer's own forward
    tokens = torch.arange(vocab).repeat(n).unsqueeze(1)
    one = torch.ones_like(tokens)
    logprobs = completion_logprobs(model, ids.repeat_interleave(vocab, 0), mask.repeat_interleave(vocab, 0),
                                   tokens, one, temperature=temperature, group_size=vocab)
    old = logprobs.detach()
    pi = old.view(n, vocab).exp()
    assert (old.view(n, vocab) - log_mu).abs().max() > 1e-3  # bf16 really differs
    first_digit = torch.tensor([tok.convert_tokens_to_ids(r["answer"][0]) for r in rows])
    reward = (torch.arange(vocab) == first_digit[:, None]).float()
    advantages = (reward - (pi * reward).sum(-1, keepdim=True)).reshape(-1)
    params = list(model.parameters())

    def expected_gradient(probs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        per_token, _ = A.ppo_clip_loss(logprobs, old, advantages, one)  # on-policy: -A ∇log π
        loss = (per_token * weights * probs.reshape(-1, 1)).sum() / n
        return torch.cat([g.flatten() for g in torch.autograd.grad(loss, params, retain_graph=True)])

    mu = log_mu.exp()
    exact = expected_gradient(pi, torch.ones_like(old))
    uncorrected = (expected_gradient(mu, torch.ones_like(old)) - exact).norm()
    distance = {}
    log_mu = log_mu.reshape(-1, 1)
    for name, (a, b) in {"tis": (old, log_mu), "inverted": (log_mu, old)}.items():
        weights, _ = A.importance_weights(a, b, one, "tis", "token", cap=2.0)
        distance[name] = (expected_gradient(mu, weights) - exact).norm()
    assert uncorrected > 1e-3 * exact.norm()  # the mismatch biases the gradient
    assert distance["tis"] < 0.01 * uncorrected  # and TIS removes the bias
    assert distance["inverted"] > uncorrected  # the check is sensitive to the direction of the weight
