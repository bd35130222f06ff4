"""Helpers shared by every reward function (see the package docstring for the contract)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any


def completion_text(completion: Any) -> str:
    """The text of one completion, given as a string or as a chat message list.

    >>> completion_text(" 19")
    ' 19'
    >>> completion_text([{"role": "assistant", "content": "19"}])
    '19'
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict) and "content" in completion:
        return str(completion["content"])
    if isinstance(completion, (list, tuple)):
        # A conversation: the model's answer is its last assistant turn.
        for message in reversed(completion):
            if isinstance(message, dict) and message.get("role", "assistant") == "assistant":
                return str(message.get("content", ""))
        return ""
    raise TypeError(f"a completion must be a string or a chat message list, got {type(completion).__name__}")


class RewardError(RuntimeError):
    """A reward function failed or broke the contract; the message names it."""


def reward_name(fn: Callable) -> str:
    return getattr(fn, "__name__", type(fn).__name__)


def check_scores(name: str, scores: Any, n: int) -> list[float | None]:
    """Validate what a reward function returned: ``n`` floats or ``None`` (NaN becomes ``None``)."""
    if not isinstance(scores, (list, tuple)) or len(scores) != n:
        got = f"{len(scores)} scores" if isinstance(scores, (list, tuple)) else type(scores).__name__
        raise RewardError(f"reward function {name!r} must return a list of {n} scores, got {got}")
    out: list[float | None] = []
    for i, s in enumerate(scores):
        if s is None:
            out.append(None)
        elif isinstance(s, numbers.Real):
            value = float(s)
            out.append(None if math.isnan(value) else value)
        else:
            raise RewardError(f"reward function {name!r} returned {s!r} for completion {i}; "
                              "expected a float or None")
    return out


def call_reward(fn: Callable, prompts: list, completions: list, rows: list[dict]) -> list[float | None]:
    """Call one reward function on a batch (dataset columns as keyword arguments) and check its
    scores. Lives here, free of torch, because reward worker processes import it."""
    columns = {key: [row[key] for row in rows] for key in rows[0]} if rows else {}
    return check_scores(reward_name(fn), fn(prompts=prompts, completions=completions, **columns), len(completions))
