"""Log-probabilities of chosen tokens from logits, fused: temperature, log-softmax, gather and entropy in
one pass over the vocabulary, a chunk of positions at a time.

At a real vocabulary the (N, T, V) logits dominate the loss's memory and, on a CPU, its elementwise time
(SmolLM2: 32 completions x 64 tokens x 49,152 = 100M floats, 400 MB per pass). Composed from autograd
ops, ``log_softmax(logits / temperature).gather(ids)`` makes a full copy for the division, keeps another
for logsumexp's backward and builds two more full tensors in the backward pass (softmax, the gather's
scatter), plus a softmax for the entropy. ``SelectiveLogSoftmax`` keeps only the logits (by reference)
and one logsumexp per position, works on chunk-sized temporaries, and writes the gradient
``(onehot(ids) - softmax(z)) * g / temperature`` in one pass: the gradient is the only full-size tensor
it creates.
"""

from __future__ import annotations

import torch
from torch import Tensor

CHUNK_ELEMENTS = 1 << 23  # ~32 MB of float32 temporaries per chunk: cache-friendly, any vocabulary


def _chunks(shape: torch.Size) -> list[tuple[slice, slice]]:
    """(rows, positions) blocks of a (B, T, V) tensor of about CHUNK_ELEMENTS each: views, never copies
    (the logits a model returns are often a non-contiguous slice, which a reshape would copy whole)."""
    batch, length, vocab = shape
    per_row = length * vocab
    if per_row <= CHUNK_ELEMENTS:  # several whole rows per block (a small vocabulary: few Python steps)
        step = CHUNK_ELEMENTS // max(1, per_row)
        return [(slice(b, min(b + step, batch)), slice(None)) for b in range(0, batch, step)]
    step = max(1, CHUNK_ELEMENTS // max(1, vocab))
    return [(slice(b, b + 1), slice(i, min(i + step, length))) for b in range(batch) for i in range(0, length, step)]


class SelectiveLogSoftmax(torch.autograd.Function):
    """(logits (B, T, V), ids (B, T), temperature) -> (log softmax(logits / temperature)[ids] (B, T)
    float32, entropy of softmax(logits / temperature) (B, T) float32, without gradient)."""

    @staticmethod
    def forward(ctx, logits: Tensor, ids: Tensor, temperature: float, want_entropy: bool):
        picked = torch.empty(ids.shape, dtype=torch.float32, device=logits.device)
        lse = torch.empty_like(picked)
        entropy = torch.empty_like(picked) if want_entropy else torch.zeros(0, device=logits.device)
        for blk in _chunks(logits.shape):
            z = logits[blk].float()
            if temperature != 1.0:  # in place only on a copy of ours, never on the caller's logits
                z = z.div_(temperature) if z.dtype != logits.dtype else z / temperature
            lse[blk] = torch.logsumexp(z, dim=-1)
            picked[blk] = z.gather(-1, ids[blk].unsqueeze(-1)).squeeze(-1) - lse[blk]
            if want_entropy:  # H = lse - sum(p z), from the same z
                entropy[blk] = lse[blk] - (torch.exp(z - lse[blk].unsqueeze(-1)) * z).sum(-1)
        ctx.save_for_backward(logits, ids, lse)
        ctx.temperature = temperature
        ctx.mark_non_differentiable(entropy)
        return picked, entropy

    @staticmethod
    def backward(ctx, grad_picked: Tensor, _grad_entropy: Tensor):
        logits, ids, lse = ctx.saved_tensors
        t = ctx.temperature
        grad = torch.empty(logits.shape, dtype=logits.dtype, device=logits.device)
        for blk in _chunks(logits.shape):
            z = logits[blk].float()
            g = (grad_picked[blk].float() / t).unsqueeze(-1)
            # d/dz (z[id] - lse(z)) = onehot(id) - softmax(z), and dz/dlogits = 1 / t
            p = torch.exp((z / t if t != 1.0 else z) - lse[blk].unsqueeze(-1)).mul_(-g)
            p.scatter_add_(-1, ids[blk].unsqueeze(-1), g)
            grad[blk] = p
        return grad, None, None, None


def selective_log_softmax(logits: Tensor, ids: Tensor, temperature: float = 1.0, return_entropy: bool = False):
    """``log softmax(logits / temperature)`` at ``ids``: (B, T, V), (B, T) -> (B, T) float32, and with
    ``return_entropy`` the entropy at each position (B, T), no gradient, from the same pass.

    >>> logits = torch.tensor([[[0.0, 0.0]]], requires_grad=True)
    >>> lp, h = selective_log_softmax(logits, torch.tensor([[1]]), return_entropy=True)
    >>> round(lp.item(), 4), round(h.item(), 4)
    (-0.6931, 0.6931)
    """
    picked, entropy = SelectiveLogSoftmax.apply(logits, ids, float(temperature), return_entropy)
    return (picked, entropy) if return_entropy else picked
