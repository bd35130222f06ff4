"""GSPO, GSPO-token, CISPO and REINFORCE++(-baseline) against hand-computed values, plain Python
loops, the gradients their papers are about, and global normalisation over processes."""

import math
import threading

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr import algorithms as A

NAN = float("nan")


def grad(loss: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    (g,) = torch.autograd.grad(loss, x, retain_graph=True)
    return g


# ---------------------------------------------------------------- GSPO (Zheng et al. 2025)

# Two sequences: log-ratios (0.3, -0.1, 0.1), mean 0.1, s_0 = e^0.1 = 1.105171; and (0.2, 0.4) with a
# padded third token (log-ratio 9, which must not count), mean 0.3, s_1 = e^0.3 = 1.349859.
GSPO_LOG_RATIO = torch.tensor([[0.3, -0.1, 0.1], [0.2, 0.4, 9.0]])
GSPO_MASK = torch.tensor([[1, 1, 1], [1, 1, 0]])
S0, S1 = 1.105171, 1.349859


def test_gspo_hand_computed_sequence_ratio_and_clip():
    adv = torch.tensor([1.0, -1.0])
    loss, clipped = A.gspo_loss(GSPO_LOG_RATIO, torch.zeros(2, 3), adv, GSPO_MASK, clip_low=0.2, clip_high=0.05)
    # row 0, A > 0: s_0 = 1.105 > 1 + 0.05, clipped: -1.05 on every token
    # row 1, A < 0: -min(-s_1, -1.05) = s_1 = 1.349859, the unclipped branch (PPO never clips A < 0 above)
    assert torch.allclose(loss, torch.tensor([[-1.05] * 3, [S1] * 3]), atol=1e-6)
    assert clipped.tolist() == [[True] * 3, [False] * 3]
    loss, clipped = A.gspo_loss(GSPO_LOG_RATIO, torch.zeros(2, 3), adv, GSPO_MASK, clip_low=0.2, clip_high=0.2)
    assert torch.allclose(loss, torch.tensor([[-S0] * 3, [S1] * 3]), atol=1e-6)  # inside [0.8, 1.2]: unclipped
    assert not clipped.any()
    loss, _ = A.gspo_loss(GSPO_LOG_RATIO, torch.zeros(2, 3), adv, GSPO_MASK, dual_clip=1.2)
    assert torch.allclose(loss[1], torch.tensor([1.2] * 3))  # dual clip: at most c·|A| for A < 0


def test_gspo_needs_one_advantage_per_sequence():
    with pytest.raises(ValueError, match="gspo_token takes per-token advantages"):
        A.gspo_loss(GSPO_LOG_RATIO, torch.zeros(2, 3), torch.ones(2, 3), GSPO_MASK)


def test_gspo_token_has_gspo_values_but_a_per_token_gradient():
    lp = GSPO_LOG_RATIO.clone().requires_grad_()
    old, adv = torch.zeros(2, 3), torch.tensor([1.0, -1.0])
    seq_loss, seq_clipped = A.gspo_loss(lp, old, adv, GSPO_MASK)
    tok_loss, tok_clipped = A.gspo_token_loss(lp, old, adv, GSPO_MASK)
    assert torch.equal(seq_loss, tok_loss) and torch.equal(seq_clipped, tok_clipped)
    # d loss[0, 0] / d log π[0, :]: GSPO spreads -A s_0 / |y| over the whole sequence (s_0 is a mean over
    # it), GSPO-token puts -A s_0 on its own token only
    assert torch.allclose(grad(seq_loss[0, 0], lp)[0], torch.tensor([-S0 / 3] * 3), atol=1e-6)
    assert torch.allclose(grad(tok_loss[0, 0], lp)[0], torch.tensor([-S0, 0.0, 0.0]), atol=1e-6)


def test_gspo_token_weighs_each_token_by_its_own_advantage():
    lp = GSPO_LOG_RATIO[:1].clone().requires_grad_()
    adv = torch.tensor([[1.0, 0.0, -1.0]])  # per token (e.g. PPO's GAE)
    loss, _ = A.gspo_token_loss(lp, torch.zeros(1, 3), adv, GSPO_MASK[:1])
    total = A.aggregate_loss(loss, GSPO_MASK[:1], "seq_mean", 3)
    # d/d log π_t of mean_t(-A_t s_0) = -A_t s_0 / 3
    assert torch.allclose(grad(total, lp), torch.tensor([[-S0 / 3, 0.0, S0 / 3]]), atol=1e-6)


@pytest.mark.parametrize("mode", ["seq_mean", "token_mean"])
def test_with_one_advantage_per_sequence_gspo_token_takes_gspos_step(mode):
    # the paper's gradient analysis: with A_i,t = A_i the two objectives have the same gradient
    torch.manual_seed(0)
    lp = (torch.randn(4, 5) * 0.05).requires_grad_()
    old, adv = torch.randn(4, 5) * 0.05, torch.randn(4)
    mask = torch.tensor([[1] * 5, [1] * 3 + [0] * 2, [1] * 4 + [0], [1] + [0] * 4])
    grads = [grad(A.aggregate_loss(fn(lp, old, adv, mask)[0], mask, mode, 5), lp)
             for fn in (A.gspo_loss, A.gspo_token_loss)]
    assert grads[0].abs().sum() > 0 and torch.allclose(grads[0], grads[1], atol=1e-6)


def _gspo_loop(lp, old, adv, lengths, clip_low, clip_high, dual_clip):
    out = []
    for i, n in enumerate(lengths):
        s = math.exp(sum(lp[i][t] - old[i][t] for t in range(n)) / max(n, 1))
        a = adv[i]
        value = -min(s * a, min(max(s, 1 - clip_low), 1 + clip_high) * a)
        if dual_clip is not None and a < 0:
            value = min(value, -dual_clip * a)
        out.append([value] * len(lp[i]))
    return torch.tensor(out, dtype=torch.float64)


def _cispo_loop(lp, old, adv, clip_low, clip_high):
    return torch.tensor([[-min(max(math.exp(lp[i][t] - old[i][t]), 1 - clip_low), 1 + clip_high) * adv[i] * lp[i][t]
                          for t in range(len(lp[i]))] for i in range(len(lp))], dtype=torch.float64)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 4), st.integers(1, 5), st.floats(0.0, 0.5), st.floats(0.0, 0.5),
       st.sampled_from([None, 1.5, 3.0]), st.randoms(use_true_random=False))
def test_gspo_and_cispo_equal_plain_loops(n, t, clip_low, clip_high, dual_clip, rnd):
    lp = [[math.log(rnd.uniform(0.05, 1.0)) for _ in range(t)] for _ in range(n)]
    old = [[x + rnd.uniform(-0.3, 0.3) for x in row] for row in lp]
    adv = [rnd.uniform(-2, 2) for _ in range(n)]
    lengths = [rnd.randint(0, t) for _ in range(n)]
    mask = torch.tensor([[1 if j < k else 0 for j in range(t)] for k in lengths])
    args = (torch.tensor(lp, dtype=torch.float64), torch.tensor(old, dtype=torch.float64),
            torch.tensor(adv, dtype=torch.float64), mask)
    expected = _gspo_loop(lp, old, adv, lengths, clip_low, clip_high, dual_clip)
    for fn in (A.gspo_loss, A.gspo_token_loss):
        loss, _ = fn(*args, clip_low, clip_high, dual_clip)
        assert torch.allclose(loss, expected, atol=1e-9), fn.__name__
    loss, _ = A.cispo_loss(*args, clip_low, clip_high)
    assert torch.allclose(loss, _cispo_loop(lp, old, adv, clip_low, clip_high), atol=1e-9)


# ---------------------------------------------------------------- CISPO (MiniMax-M1 2025)

# π / π_old = 0.6/0.4, 0.2/0.4, 0.44/0.4: ratios 1.5, 0.5, 1.1; clip range [0.8, 1.28]
CISPO_LP = torch.log(torch.tensor([[0.6, 0.2, 0.44]]))
CISPO_OLD = torch.log(torch.tensor([[0.4, 0.4, 0.4]]))
ONES = torch.ones(1, 3)


def test_cispo_hand_computed():
    loss, clipped = A.cispo_loss(CISPO_LP, CISPO_OLD, torch.tensor([1.0]), ONES, clip_low=0.2, clip_high=0.28)
    # -w · A · log π with weights 1.28, 0.8, 1.1: -1.28 ln 0.6, -0.8 ln 0.2, -1.1 ln 0.44
    assert torch.allclose(loss, torch.tensor([[0.653857, 1.287550, 0.903079]]), atol=1e-5)
    assert clipped.tolist() == [[True, True, False]]
    with pytest.raises(ValueError, match="dual_clip"):
        A.cispo_loss(CISPO_LP, CISPO_OLD, torch.tensor([1.0]), ONES, dual_clip=3.0)


@pytest.mark.parametrize("advantage, token, cispo_grad", [
    (1.0, 0, -1.28),  # ratio 1.5 > 1.28 with A > 0: PPO drops the token, CISPO keeps -1.28·A
    (-1.0, 1, 0.8),  # ratio 0.5 < 0.8 with A < 0: PPO drops it, CISPO keeps -0.8·A
])
def test_cispo_keeps_the_gradient_that_ppos_clip_removes(advantage, token, cispo_grad):
    lp = CISPO_LP.clone().requires_grad_()
    adv = torch.tensor([advantage])
    ppo = grad(A.ppo_clip_loss(lp, CISPO_OLD, adv, ONES, 0.2, 0.28)[0][0, token], lp)
    cispo = grad(A.cispo_loss(lp, CISPO_OLD, adv, ONES, 0.2, 0.28)[0][0, token], lp)
    assert ppo.abs().sum() == 0
    expected = torch.zeros(1, 3)
    expected[0, token] = cispo_grad
    assert torch.allclose(cispo, expected, atol=1e-6)


def test_on_policy_every_objective_takes_the_policy_gradient_step():
    # ratio 1: every loss's gradient is -A ∇log π per token (the objectives differ only off-policy)
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 5, requires_grad=True)
    ids = torch.randint(0, 5, (2, 3))
    lp = torch.log_softmax(logits, -1).gather(-1, ids.unsqueeze(-1)).squeeze(-1)
    adv, mask = torch.tensor([0.5, -2.0]), torch.ones(2, 3)
    expected = grad(-(lp * adv[:, None]).sum(), logits)
    for name, fn in A.POLICY_LOSSES.items():
        loss, clipped = fn(lp, lp.detach(), adv, mask)
        # GSPO writes a sequence's loss on each of its |y| tokens, and its gradient is 1/|y| of the
        # sequence's: their sum is the sequence's policy gradient too
        assert not clipped.any(), name
        assert torch.allclose(grad(loss.sum(), logits), expected, atol=1e-6), name


# ---------------------------------------------------------------- REINFORCE++ (Hu et al. 2025)


def test_reinforce_pp_hand_computed():
    # batch mean 0.25, population std sqrt(0.1875) = 0.433013: (1 - 0.25) / 0.433 = 1.732051, -0.25 / 0.433
    adv = A.reinforce_pp_advantages(torch.tensor([[1.0, 0.0], [0.0, 0.0]]))
    assert torch.allclose(adv, torch.tensor([[1.732051, -0.577350], [-0.577350, -0.577350]]), atol=1e-5)
    # NaN is left out: scored 1, 0, 0 have mean 1/3, std sqrt(2/9)
    adv = A.reinforce_pp_advantages(torch.tensor([[1.0, NAN], [0.0, 0.0]]))
    assert torch.allclose(adv, torch.tensor([[1.414214, 0.0], [-0.707107, -0.707107]]), atol=1e-5)


def test_reinforce_pp_baseline_hand_computed():
    # centred by group: (0.5, -0.5), (0, 0); the third group has one scored reward, so no baseline: 0,
    # and it takes no part in the std, sqrt((0.25 + 0.25 + 0 + 0) / 4) = 0.353553
    adv = A.reinforce_pp_baseline_advantages(torch.tensor([[1.0, 0.0], [1.0, 1.0], [NAN, 1.0]]))
    assert torch.allclose(adv, torch.tensor([[1.414214, -1.414214], [0.0, 0.0], [0.0, 0.0]]), atol=1e-5)
    assert A.reinforce_pp_baseline_advantages(torch.full((3, 4), 0.7)).abs().max() == 0


def _reinforce_pp_loop(rows, baseline):
    values, keep = [], []
    for row in rows:
        scored = [r for r in row if not math.isnan(r)]
        for r in row:
            ok = not math.isnan(r) and (len(scored) >= 2 or not baseline)
            keep.append(ok)
            values.append((r - sum(scored) / len(scored) if baseline else r) if ok else 0.0)
    kept = [v for v, k in zip(values, keep) if k]
    mean = sum(kept) / max(len(kept), 1)
    std = math.sqrt(sum((v - mean) ** 2 for v in kept) / max(len(kept), 1) + 1e-8)
    shift = 0.0 if baseline else mean  # the baseline's values already have batch mean 0
    out = [(v - shift) / std if k else 0.0 for v, k in zip(values, keep)]
    return torch.tensor(out, dtype=torch.float64).view(len(rows), -1)


reward_value = st.one_of(st.sampled_from([0.0, 1.0, NAN]), st.floats(-5, 5, allow_nan=False))


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 4), st.integers(1, 6), st.data())
def test_reinforce_pp_equals_plain_loop(b, g, data):
    rows = [data.draw(st.lists(reward_value, min_size=g, max_size=g)) for _ in range(b)]
    rewards = torch.tensor(rows, dtype=torch.float64)
    for name, baseline in [("reinforce_pp", False), ("reinforce_pp_baseline", True)]:
        got = A.ADVANTAGE_ESTIMATORS[name](rewards)
        assert torch.allclose(got, _reinforce_pp_loop(rows, baseline), atol=1e-6), name


def run_as_two_processes(fn, halves):
    """``fn(half, all_reduce_sum=...)`` on each half in its own thread, the two exchanging their
    sums through a barrier in lockstep, as an all-reduce over two processes does."""
    slots, barrier, results = [None, None], threading.Barrier(2), [None, None]

    def run(rank):
        def all_reduce_sum(t):
            slots[rank] = t
            barrier.wait()
            total = slots[0] + slots[1]
            barrier.wait()
            return total
        results[rank] = fn(halves[rank], all_reduce_sum=all_reduce_sum)

    threads = [threading.Thread(target=run, args=(r,)) for r in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.parametrize("name", ["reinforce_pp", "reinforce_pp_baseline"])
def test_two_processes_normalise_over_the_global_batch(name):
    """Each process holds its own prompts' groups; summed statistics give exactly the advantages of
    one process with the whole batch, and each process normalising alone does not."""
    fn = A.ADVANTAGE_ESTIMATORS[name]
    torch.manual_seed(0)
    rewards = torch.cat([torch.rand(3, 4), 5 * torch.rand(3, 4)])  # the second process's rewards spread 5x
    rewards[1, 2] = NAN
    whole = fn(rewards)
    halves = run_as_two_processes(fn, [rewards[:3], rewards[3:]])
    assert torch.allclose(torch.cat(halves), whole, atol=1e-6)
    local = torch.cat([fn(rewards[:3]), fn(rewards[3:])])
    assert not torch.allclose(local, whole, atol=1e-3)


# ---------------------------------------------------------------- registries


def test_every_registered_variant_has_a_one_line_description():
    for registry in (A.ADVANTAGE_ESTIMATORS, A.POLICY_LOSSES, A.KL_ESTIMATORS, A.LOSS_AGGREGATIONS):
        for name in registry:
            assert registry.describe(name).endswith("."), (registry.family, name)


def test_registry_refuses_duplicates_and_names_its_choices():
    with pytest.raises(ValueError, match="policy loss 'cispo' is registered twice"):
        A.POLICY_LOSSES.register("cispo")(A.cispo_loss)
    with pytest.raises(ValueError, match=r"unknown policy loss 'ppo'; choose from \['ppo_clip', 'gspo', "):
        A.POLICY_LOSSES["ppo"]
    with pytest.raises(ValueError, match="needs a docstring"):
        A.POLICY_LOSSES.register("undocumented")(lambda *a: None)
    assert "undocumented" not in A.POLICY_LOSSES
