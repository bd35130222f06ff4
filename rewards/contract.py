"""Helpers shared by every reward function (see the package docstring for the contract)."""

from __future__ import annotations

import asyncio
import inspect
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


# -- concurrent rewards (judges, remote checkers) ---------------------------------------------------


def per_row(fn: Callable) -> Callable:
    """Mark a reward function that scores one completion: ``f(prompt=, completion=, **row) -> float | None``
    (``prompt`` is the row's prompt column when it has one, else the prompt as sent to the model).

    Its rows run concurrently (an ``async def`` on the scorer's event loop, a plain function in worker
    threads), each under the reward time limit, at most ``max_concurrency`` at once across the batch; a slow
    remote judge then costs about one call per batch, not one per row.

    >>> @per_row
    ... async def judge(prompt, completion, **row):
    ...     return float("42" in completion)
    >>> judge.rlvr_per_row
    True
    """
    fn.rlvr_per_row = True
    return fn


def is_concurrent(fn: Callable) -> bool:
    """Whether ``fn`` runs on the event loop: an ``async def`` reward, or a ``per_row`` one."""
    return (inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(type(fn).__call__)  # an async __call__
            or getattr(fn, "rlvr_per_row", False))


async def call_reward_async(fn: Callable, prompts: list, completions: list, rows: list[dict],
                            limit: asyncio.Semaphore, timeout_s: float) -> tuple[list[float | None], dict[int, BaseException]]:
    """Score a batch with a concurrent reward: (scores, failed rows {index: exception}). A batch-level
    ``async def`` takes one slot of ``limit``; a ``per_row`` function one slot per row. Each call or row
    gets ``timeout_s``; a failed row scores ``None`` here and the caller applies its error policy."""
    name = reward_name(fn)

    async def bounded(make):
        async with limit:
            return await asyncio.wait_for(make(), timeout_s)

    if not getattr(fn, "rlvr_per_row", False):
        columns = {key: [row[key] for row in rows] for key in rows[0]} if rows else {}
        scores = await bounded(lambda: fn(prompts=prompts, completions=completions, **columns))
        return check_scores(name, scores, len(completions)), {}

    def row_call(i: int):
        # the row's own "prompt" column, when it has one, wins over the prompt as sent to the model
        kwargs = {"prompt": prompts[i], **(rows[i] if i < len(rows) else {}), "completion": completions[i]}
        if inspect.iscoroutinefunction(fn):
            return lambda: fn(**kwargs)
        return lambda: asyncio.to_thread(fn, **kwargs)

    outcomes = await asyncio.gather(*(bounded(row_call(i)) for i in range(len(completions))), return_exceptions=True)
    failed = {i: o for i, o in enumerate(outcomes) if isinstance(o, BaseException)}
    scores = [None if i in failed else o for i, o in enumerate(outcomes)]
    for i, o in enumerate(scores):
        if o is not None and not isinstance(o, numbers.Real):
            failed[i] = RewardError(f"reward function {name!r} returned {o!r} for completion {i}; expected a float or None")
            scores[i] = None
    return check_scores(name, scores, len(completions)), failed
