"""PPO's math (GAE, token rewards, whitening, value loss, KL controller) against hand-computed
values and plain loops."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr import algorithms as A


def close(tensor, expected, atol=1e-4):
    assert torch.allclose(tensor, torch.tensor(expected), atol=atol), tensor


def test_gae_hand_computed():
    # one row, 3 valid tokens, gamma 0.9, lambda 0.5
    rewards = torch.tensor([[0.0, 0.0, 1.0, 0.0]])
    values = torch.tensor([[0.5, 0.6, 0.7, 9.0]])  # the padded position's value is ignored
    mask = torch.tensor([[1, 1, 1, 0]])
    adv, ret = A.gae(rewards, values, mask, gamma=0.9, lam=0.5)
    d2 = 1.0 - 0.7
    d1 = 0.0 + 0.9 * 0.7 - 0.6
    d0 = 0.0 + 0.9 * 0.6 - 0.5
    a2, a1 = d2, d1 + 0.45 * d2
    a0 = d0 + 0.45 * a1
    assert adv[0].tolist() == pytest.approx([a0, a1, a2, 0.0], abs=1e-6)
    assert ret[0].tolist() == pytest.approx([a0 + 0.5, a1 + 0.6, a2 + 0.7, 0.0], abs=1e-6)


def test_gae_with_gamma_lambda_one_is_reward_to_go_minus_value():
    rewards = torch.tensor([[0.1, -0.2, 1.0]])
    values = torch.tensor([[0.3, 0.4, 0.5]])
    adv, ret = A.gae(rewards, values, torch.ones(1, 3), gamma=1.0, lam=1.0)
    assert ret[0].tolist() == pytest.approx([0.9, 0.8, 1.0])
    assert adv[0].tolist() == pytest.approx([0.6, 0.4, 0.5])


def _gae_loop(rewards, values, lengths, gamma, lam):
    out = []
    for r, v, n in zip(rewards, values, lengths):
        adv = [0.0] * len(r)
        running = 0.0
        for t in reversed(range(n)):
            nxt = v[t + 1] if t + 1 < n else 0.0
            running = r[t] + gamma * nxt - v[t] + gamma * lam * running
            adv[t] = running
        out.append(adv)
    return torch.tensor(out)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 4), st.integers(1, 6), st.floats(0.5, 1.0), st.floats(0.0, 1.0), st.randoms())
def test_gae_equals_plain_loop(n, t, gamma, lam, rnd):
    rewards = [[rnd.uniform(-1, 1) for _ in range(t)] for _ in range(n)]
    values = [[rnd.uniform(-1, 1) for _ in range(t)] for _ in range(n)]
    lengths = [rnd.randint(0, t) for _ in range(n)]
    mask = torch.tensor([[1 if j < k else 0 for j in range(t)] for k in lengths])
    adv, ret = A.gae(torch.tensor(rewards) * mask, torch.tensor(values), mask, gamma, lam)
    expected = _gae_loop([[x * (j < k) for j, x in enumerate(r)] for r, k in zip(rewards, lengths)],
                         values, lengths, gamma, lam)
    assert torch.allclose(adv, expected, atol=1e-5)
    assert torch.allclose(ret, (expected + torch.tensor(values)) * mask, atol=1e-5)


def test_token_rewards_put_score_on_last_token_and_kl_everywhere():
    mask = torch.tensor([[1, 1, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0]])
    kl = torch.full((3, 4), 0.5)
    r = A.token_rewards(torch.tensor([1.0, float("nan"), 1.0]), mask, kl, kl_coef=0.1)
    close(r, [[-0.05, -0.05, 0.95, 0.0], [-0.05, 0.0, 0.0, 0.0], [0.0] * 4])
    assert A.token_rewards(torch.tensor([2.0]), torch.tensor([[1, 1]])).tolist() == [[0.0, 2.0]]


def test_masked_whiten():
    values = torch.tensor([[1.0, 3.0, 100.0]])
    mask = torch.tensor([[1, 1, 0]])
    w = A.masked_whiten(values, mask)
    close(w, [[-1.0, 1.0, 0.0]])
    close(A.masked_whiten(values, mask, shift_mean=False), [[1.0, 3.0, 0.0]])


def test_value_loss_clipping_hand_computed():
    values, old, returns = torch.tensor([[2.0, 0.5]]), torch.tensor([[1.0, 0.4]]), torch.tensor([[0.0, 1.0]])
    loss, clipped = A.value_loss(values, old, returns, clip=0.2)
    # token 0: unclipped ½·4 = 2, clipped V=1.2 -> ½·1.44 = 0.72: max = 2 (unclipped is larger)
    # token 1: unclipped ½·0.25, clipped V=0.6 -> ½·0.16: max = 0.125
    close(loss, [[2.0, 0.125]])
    loss, clipped = A.value_loss(torch.tensor([[-0.5]]), torch.tensor([[0.0]]), torch.tensor([[-1.0]]), clip=0.2)
    # moved towards the target past the clip range: clipped V=-0.2 -> ½·0.64 = 0.32 > ½·0.25
    assert loss.item() == pytest.approx(0.32) and clipped.item()
    close(A.value_loss(values, old, returns)[0], [[2.0, 0.125]])


def test_explained_variance():
    returns = torch.tensor([[1.0, 2.0, 3.0, 9.0]])
    mask = torch.tensor([[1, 1, 1, 0]])
    assert A.explained_variance(returns, returns, mask).item() == pytest.approx(1.0)
    assert A.explained_variance(torch.full_like(returns, 2.0), returns, mask).item() == pytest.approx(0.0, abs=1e-6)


def test_adaptive_kl_coef_moves_towards_target_and_is_bounded():
    assert A.adaptive_kl_coef(0.1, observed_kl=0.2, target=0.1, horizon=10) == pytest.approx(0.1 * 1.02)
    assert A.adaptive_kl_coef(0.1, observed_kl=0.05, target=0.1, horizon=10) == pytest.approx(0.1 * 0.98)
    assert A.adaptive_kl_coef(0.1, observed_kl=0.1, target=0.1, horizon=10) == pytest.approx(0.1)
    assert not math.isnan(A.adaptive_kl_coef(0.1, 0.0, 0.1, 1))
