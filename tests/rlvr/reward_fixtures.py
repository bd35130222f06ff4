"""Reward functions with known misbehaviour, importable by worker processes and recipes."""

import os
import time


def length_reward(completions, **kwargs):
    return [float(len(c)) for c in completions]


def none_for_short(completions, **kwargs):
    return [None if len(c) < 3 else 1.0 for c in completions]


def raising_reward(completions, **kwargs):
    raise ValueError("boom from a reward")


def hanging_reward(completions, **kwargs):
    time.sleep(30)
    return [0.0] * len(completions)


def wrong_length_reward(completions, **kwargs):
    return [0.0]


def string_reward(completions, **kwargs):
    return ["high"] * len(completions)


def crash_after_reward(completions, answer, **kwargs):
    """The accuracy reward, until the RLVR_CRASH_AFTER-th call raises (a simulated crash)."""
    from rewards.math import accuracy_reward

    path = os.environ["RLVR_CRASH_COUNTER"]
    calls = int(open(path).read()) + 1 if os.path.exists(path) else 1
    with open(path, "w") as f:
        f.write(str(calls))
    if calls > int(os.environ["RLVR_CRASH_AFTER"]):
        raise RuntimeError("simulated crash")
    return accuracy_reward(completions, answer)


@__import__("rewards.contract", fromlist=["per_row"]).per_row
async def async_judge(prompt, completion, answer, **row):
    """A remote judge's shape: one awaited call per completion (0.01 s), 1.0 when it holds the answer."""
    import asyncio

    await asyncio.sleep(0.01)
    return float(str(answer) in completion)
