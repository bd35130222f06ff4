"""The RL math against hand-computed values and against plain Python loops."""

import math
import statistics

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr import algorithms as A

NAN = float("nan")


# ---------------------------------------------------------------- group advantages, by hand


def test_grpo_advantages_hand_computed():
    # rewards [1, 0, 0, 1]: mean 0.5, unbiased std sqrt(1/3) = 0.57735
    adv = A.grpo_advantages(torch.tensor([[1.0, 0.0, 0.0, 1.0]]), eps=0.0)
    assert torch.allclose(adv, torch.tensor([[0.866025, -0.866025, -0.866025, 0.866025]]), atol=1e-5)


def test_dr_grpo_and_rloo_hand_computed():
    rewards = torch.tensor([[1.0, 0.0, 0.0, 0.0]])
    assert torch.allclose(A.dr_grpo_advantages(rewards), torch.tensor([[0.75, -0.25, -0.25, -0.25]]))
    # RLOO: 1 - mean(0,0,0) = 1; 0 - mean(1,0,0) = -1/3
    assert torch.allclose(A.rloo_advantages(rewards), torch.tensor([[1.0, -1 / 3, -1 / 3, -1 / 3]]))


# The estimators whose baseline is the group's own rewards (REINFORCE++ is tested in test_algorithms_objectives.py).
GROUP_ESTIMATORS = ["grpo", "dr_grpo", "rloo", "reinforce_pp_baseline"]


def test_equal_rewards_give_zero_advantage():
    for name in GROUP_ESTIMATORS:
        assert torch.equal(A.ADVANTAGE_ESTIMATORS[name](torch.full((2, 4), 0.7)), torch.zeros(2, 4)), name


def test_nan_rewards_get_zero_advantage_and_leave_group_stats():
    rewards = torch.tensor([[1.0, NAN, 0.0, 0.0]])
    adv = A.dr_grpo_advantages(rewards)
    # group of three scored values: mean 1/3
    assert torch.allclose(adv, torch.tensor([[2 / 3, 0.0, -1 / 3, -1 / 3]]))
    only_one = A.grpo_advantages(torch.tensor([[NAN, NAN, 1.0, NAN]]))
    assert torch.equal(only_one, torch.zeros(1, 4))


def _loop_advantages(rows, kind, eps=1e-4):
    out = []
    for row in rows:
        scored = [r for r in row if not math.isnan(r)]
        res = []
        for r in row:
            if math.isnan(r) or len(scored) < 2:
                res.append(0.0)
                continue
            mean = sum(scored) / len(scored)
            if kind == "grpo":
                res.append((r - mean) / (statistics.stdev(scored) + eps))
            elif kind == "dr_grpo":
                res.append(r - mean)
            else:
                others = list(scored)
                others.remove(r)
                res.append(r - sum(others) / len(others))
        out.append(res)
    return torch.tensor(out)


reward_value = st.one_of(st.sampled_from([0.0, 1.0, NAN]), st.floats(-5, 5, allow_nan=False))


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 4).flatmap(lambda b: st.lists(
    st.lists(reward_value, min_size=2, max_size=6).map(tuple), min_size=b, max_size=b)))
def test_advantages_equal_plain_loop(groups):
    width = min(len(g) for g in groups)
    rows = [list(g[:width]) for g in groups]
    rewards = torch.tensor(rows, dtype=torch.float64)
    for kind in ["grpo", "dr_grpo", "rloo"]:
        fn = A.ADVANTAGE_ESTIMATORS[kind]
        expected = _loop_advantages(rows, kind).double()
        assert torch.allclose(fn(rewards), expected, atol=1e-6), kind


# ---------------------------------------------------------------- policy loss


def test_policy_loss_hand_computed_clipping():
    old = torch.zeros(1, 3)
    logprobs = torch.log(torch.tensor([[1.5, 0.5, 1.1]]))  # ratios 1.5, 0.5, 1.1
    loss, clipped = A.ppo_clip_loss(logprobs, old, torch.tensor([1.0]), torch.ones_like(logprobs), clip_low=0.2, clip_high=0.28)
    # A>0: -min(r, clip(r)) -> -1.28 (clipped above at 1+0.28), -0.5 (ratio below: unclipped), -1.1
    assert torch.allclose(loss, torch.tensor([[-1.28, -0.5, -1.1]]), atol=1e-6)
    assert clipped.tolist() == [[True, False, False]]
    loss, clipped = A.ppo_clip_loss(logprobs, old, torch.tensor([-1.0]), torch.ones_like(logprobs), clip_low=0.2, clip_high=0.28)
    # A<0: -min(-r, -clip(r)) = max(r, clip(r)) -> 1.5, 0.8 (clipped below at 1-0.2), 1.1
    assert torch.allclose(loss, torch.tensor([[1.5, 0.8, 1.1]]), atol=1e-6)
    assert clipped.tolist() == [[False, True, False]]


def test_dual_clip_bounds_negative_advantage_loss():
    old = torch.zeros(1, 2)
    logprobs = torch.log(torch.tensor([[10.0, 2.0]]))
    loss, _ = A.ppo_clip_loss(logprobs, old, torch.tensor([-1.0]), torch.ones_like(logprobs), dual_clip=3.0)
    assert torch.allclose(loss, torch.tensor([[3.0, 2.0]]))  # ratio 10 capped at c * |A| = 3
    loss_pos, _ = A.ppo_clip_loss(logprobs, old, torch.tensor([1.0]), torch.ones_like(logprobs), dual_clip=3.0)
    assert torch.allclose(loss_pos, torch.tensor([[-1.2, -1.2]]))  # positive advantages untouched


def test_policy_loss_on_policy_gradient_is_advantage_weighted_logprob_gradient():
    logits = torch.randn(2, 3, 5, requires_grad=True)
    ids = torch.randint(0, 5, (2, 3))
    lp = torch.log_softmax(logits, -1).gather(-1, ids.unsqueeze(-1)).squeeze(-1)
    adv = torch.tensor([0.5, -2.0])
    loss, _ = A.ppo_clip_loss(lp, lp.detach(), adv, torch.ones_like(lp))
    (g1,) = torch.autograd.grad(loss.sum(), logits, retain_graph=True)
    (g2,) = torch.autograd.grad(-(lp * adv[:, None]).sum(), logits)
    assert torch.allclose(g1, g2, atol=1e-6)


def test_policy_loss_token_level_advantages_equal_loop():
    torch.manual_seed(0)
    lp, old, adv = torch.randn(3, 4) * 0.3, torch.randn(3, 4) * 0.3, torch.randn(3, 4)
    loss, _ = A.ppo_clip_loss(lp, old, adv, torch.ones_like(lp), clip_low=0.1, clip_high=0.3, dual_clip=2.5)
    for i in range(3):
        for t in range(4):
            r = math.exp(lp[i, t] - old[i, t])
            a = adv[i, t].item()
            value = -min(r * a, min(max(r, 0.9), 1.3) * a)
            if a < 0:
                value = min(value, -2.5 * a)
            assert loss[i, t].item() == pytest.approx(value, rel=1e-5, abs=1e-6)


# ---------------------------------------------------------------- KL estimators


def test_kl_estimators_hand_computed():
    lp, ref = torch.tensor([math.log(0.5)]), torch.tensor([math.log(0.25)])
    log_ratio = math.log(2.0)
    assert A.kl_k1(lp, ref).item() == pytest.approx(log_ratio)
    assert A.kl_k2(lp, ref).item() == pytest.approx(0.5 * log_ratio**2)
    assert A.kl_k3(lp, ref).item() == pytest.approx(0.5 - 1 + log_ratio)  # r = 0.25/0.5


def test_kl_estimators_are_unbiased_or_not_as_documented():
    torch.manual_seed(0)
    p = torch.softmax(torch.randn(6), -1)
    q = torch.softmax(torch.randn(6), -1)
    exact = (p * (p / q).log()).sum()
    samples = torch.multinomial(p, 200_000, replacement=True)
    lp, lq = p.log()[samples], q.log()[samples]
    assert A.kl_k1(lp, lq).mean().item() == pytest.approx(exact.item(), rel=0.05)
    assert A.kl_k3(lp, lq).mean().item() == pytest.approx(exact.item(), rel=0.05)
    assert (A.kl_k3(lp, lq) >= 0).all()


# ---------------------------------------------------------------- aggregation


def test_aggregation_hand_computed():
    per_token = torch.tensor([[1.0, 2.0, 3.0], [4.0, 0.0, 0.0]])
    mask = torch.tensor([[1, 1, 1], [1, 0, 0]])
    assert A.aggregate_loss(per_token, mask, "token_mean", 3).item() == pytest.approx(10 / 4)
    assert A.aggregate_loss(per_token, mask, "seq_mean", 3).item() == pytest.approx((2 + 4) / 2)
    assert A.aggregate_loss(per_token, mask, "constant_norm", 5).item() == pytest.approx(10 / (2 * 5))


def test_split_batches_with_global_normalizer_equal_one_batch():
    torch.manual_seed(0)
    per_token = torch.randn(8, 5)
    mask = (torch.rand(8, 5) > 0.3).long()
    for mode in A.LOSS_AGGREGATIONS:
        whole = A.aggregate_loss(per_token, mask, mode, 5)
        total = A.loss_normalizer(mask[:3], mode, 5) + A.loss_normalizer(mask[3:], mode, 5)
        parts = (A.aggregate_loss(per_token[:3], mask[:3], mode, 5, total)
                 + A.aggregate_loss(per_token[3:], mask[3:], mode, 5, total))
        assert parts.item() == pytest.approx(whole.item(), rel=1e-6), mode


def test_masked_mean():
    assert A.masked_mean(torch.tensor([1.0, 5.0, 3.0]), torch.tensor([1, 0, 1])).item() == 2.0
    assert A.masked_mean(torch.tensor([1.0]), torch.tensor([0])).item() == 0.0


def test_has_reward_spread_ignores_nan():
    rewards = torch.tensor([[1.0, 0.0, 1.0], [1.0, 1.0, 1.0], [1.0, NAN, 1.0], [NAN, NAN, NAN], [0.0, NAN, 1.0]])
    assert A.has_reward_spread(rewards).tolist() == [True, False, False, False, True]
    for name in GROUP_ESTIMATORS:  # exactly the groups whose advantages are not all zero
        assert ((A.ADVANTAGE_ESTIMATORS[name](rewards) != 0).any(-1) == A.has_reward_spread(rewards)).all(), name


# ---------------------------------------------------------------- numerical guards and diagnostics


def test_masked_positions_cannot_put_inf_or_nan_into_a_mean_or_a_loss():
    # an impossible token's log-prob is -inf; multiplying by a 0 mask would give NaN
    values = torch.tensor([[1.0, 3.0, float("inf")], [2.0, float("nan"), -float("inf")]])
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]])
    assert A.masked_mean(values, mask).item() == 2.0
    for mode in A.LOSS_AGGREGATIONS:
        assert torch.isfinite(A.aggregate_loss(values, mask, mode, max_length=3))
    assert A.aggregate_loss(values, mask, "token_mean", 3).item() == 2.0


def test_log_ratios_and_kl_are_clamped_to_finite_values():
    new = torch.tensor([[0.0, -1000.0, -0.5]])
    old = torch.tensor([[-1000.0, 0.0, -0.5]])  # a ratio of e^1000 either way, and an equal token
    loss, _ = A.ppo_clip_loss(new, old, torch.tensor([1.0]), torch.ones_like(new))
    assert torch.isfinite(loss).all()
    for name, kl in A.KL_ESTIMATORS.items():
        values = kl(new, old)
        assert torch.isfinite(values).all(), name
        assert values[0, 2] == 0, name  # no clamp where nothing needs one
    assert A.kl_k3(new, old).max() <= A.K3_BOUND
    assert A.kl_k1(new, old).tolist() == [[20.0, -20.0, 0.0]]


def test_ratio_stats_hand_computed():
    # ratios 1.5 (A>0: clipped from above), 0.5 (A<0: clipped from below), 1.1 (inside), masked 9.0
    old = torch.zeros(1, 4)
    new = torch.log(torch.tensor([[1.5, 0.5, 1.1, 9.0]]))
    adv = torch.tensor([[1.0, -1.0, 1.0, 1.0]])
    mask = torch.tensor([[1, 1, 1, 0]])
    _, clipped = A.ppo_clip_loss(new, old, adv, mask, 0.2, 0.28)
    stats = A.ratio_stats(new, old, adv, mask, clipped)
    assert stats["ratio_max"].item() == pytest.approx(1.5) and stats["ratio_min"].item() == pytest.approx(0.5)
    assert stats["clip_frac_high"].item() == pytest.approx(1 / 3)
    assert stats["clip_frac_low"].item() == pytest.approx(1 / 3)
    # k3 of KL(old||new) per token: r - 1 - log r with r = old/new
    expected = sum(1 / r - 1 - math.log(1 / r) for r in (1.5, 0.5, 1.1)) / 3
    assert stats["approx_kl"].item() == pytest.approx(expected, rel=1e-5)
    assert A.masked_mean(clipped.float(), mask).item() == pytest.approx(2 / 3)


def test_whitening_over_processes_equals_whitening_the_whole_batch():
    """Two 'processes' whitening their halves with summed statistics give what one process
    gives on the whole batch; whitening each half alone does not. The sums are exchanged by
    running both halves in lockstep threads through a real barrier."""
    from tests.rlvr.test_algorithms_objectives import run_as_two_processes

    torch.manual_seed(0)
    values = torch.randn(6, 5) * torch.tensor([[1.0], [1.0], [1.0], [5.0], [5.0], [5.0]]) + 2
    mask = (torch.rand(6, 5) > 0.3).long()
    whole = A.masked_whiten(values, mask)
    halves = [(values[:3], mask[:3]), (values[3:], mask[3:])]
    results = run_as_two_processes(lambda half, all_reduce_sum: A.masked_whiten(*half, all_reduce_sum=all_reduce_sum),
                                   halves)
    assert torch.allclose(torch.cat(results), whole, atol=1e-6)
    local = torch.cat([A.masked_whiten(v, m) for v, m in halves])
    assert not torch.allclose(local, whole, atol=1e-3)
