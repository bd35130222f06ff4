import math

import pytest
import torch

import rlvr.logprobs as L
from rlvr.logprobs import selective_log_softmax


def reference(logits, ids, temperature):
    """The obvious composition of autograd ops, in float64."""
    logp = torch.log_softmax(logits.double() / temperature, -1)
    return logp.gather(-1, ids.unsqueeze(-1)).squeeze(-1), -(logp.exp() * logp).sum(-1)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("temperature", [1.0, 0.7])
@pytest.mark.parametrize("chunk", [1 << 23, 7])  # one block per row, and blocks smaller than a row
def test_values_entropy_and_gradients_equal_the_composed_ops(monkeypatch, dtype, temperature, chunk):
    monkeypatch.setattr(L, "CHUNK_ELEMENTS", chunk)
    torch.manual_seed(0)
    padded = (torch.randn(3, 7, 11) * 3).to(dtype)
    logits = padded[:, :6]  # a non-contiguous slice, as the model's logits[:, :-1] are
    ours = logits.detach().clone().requires_grad_(True)
    theirs = logits.detach().clone().requires_grad_(True)
    ids, weights = torch.randint(0, 11, (3, 6)), torch.randn(3, 6)
    logprobs, entropy = selective_log_softmax(ours, ids, temperature, return_entropy=True)
    expected, expected_entropy = reference(theirs, ids, temperature)
    (logprobs * weights).sum().backward()
    (expected * weights).sum().backward()
    assert logprobs.dtype == torch.float32 and not entropy.requires_grad
    assert torch.allclose(logprobs.double(), expected, atol=1e-5)
    assert torch.allclose(entropy.double(), expected_entropy, atol=1e-5)
    assert ours.grad.dtype == dtype
    assert torch.allclose(ours.grad.double(), theirs.grad.double(), atol=1e-5 if dtype == torch.float32 else 2e-2)
    assert torch.equal(logits, padded[:, :6])  # the caller's logits are never written to


def test_entropy_hand_computed():
    uniform = torch.zeros(1, 1, 8)  # log 8
    certain = torch.tensor([[[0.0, -1e4, -1e4]]])  # 0
    two = torch.log(torch.tensor([[[0.25, 0.75]]]))  # -(.25 ln .25 + .75 ln .75) = 0.562335
    ids = torch.zeros(1, 1, dtype=torch.long)
    assert selective_log_softmax(uniform, ids, return_entropy=True)[1].item() == pytest.approx(math.log(8))
    assert abs(selective_log_softmax(certain, ids, return_entropy=True)[1].item()) < 1e-5
    assert selective_log_softmax(two, ids, return_entropy=True)[1].item() == pytest.approx(0.562335, abs=1e-5)
    assert selective_log_softmax(two, ids).item() == pytest.approx(math.log(0.25), abs=1e-6)


def test_gradient_check_in_float64():
    torch.manual_seed(1)
    logits = torch.randn(2, 3, 5, dtype=torch.float64, requires_grad=True)
    ids = torch.randint(0, 5, (2, 3))
    # the forward computes in float32; compare the analytic backward with float64 finite differences of it
    assert torch.autograd.gradcheck(lambda x: selective_log_softmax(x, ids, 0.8).double(), (logits,),
                                    eps=1e-3, atol=1e-3)
