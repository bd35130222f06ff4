"""Held-out accuracy: greedy completions scored by the same reward function the trainer uses."""

from __future__ import annotations

from collections.abc import Callable

from rlvr.rollout import Generator, SamplingParams, sample_rollout
from rlvr.scoring import call_reward


def greedy_accuracy(generator: Generator, tokenizer, prompt_texts: list[str], rows: list[dict],
                    reward_fn: Callable, max_new_tokens: int, device, batch_size: int = 256,
                    max_prompt_length: int | None = None) -> tuple[float, list[dict]]:
    """Fraction of prompts whose greedy completion gets full credit (score == 1; None counts as
    wrong), and the per-prompt records ``{"prompt", "completion", "score"}``."""
    params = SamplingParams(max_new_tokens=max_new_tokens, greedy=True)
    records = []
    for start in range(0, len(prompt_texts), batch_size):
        texts, batch_rows = prompt_texts[start : start + batch_size], rows[start : start + batch_size]
        rollout = sample_rollout(generator, tokenizer, texts, batch_rows, 1, params, device, max_prompt_length)
        scores = call_reward(reward_fn, texts, rollout.completions, batch_rows)
        records += [{"prompt": p, "completion": c, "score": s}
                    for p, c, s in zip(texts, rollout.completions, scores)]
    return count_correct(records) / max(len(records), 1), records


def count_correct(records: list[dict]) -> int:
    """Records whose score is full credit (``None`` = could not be scored = wrong)."""
    return sum(1 for r in records if r["score"] is not None and r["score"] >= 1.0)
