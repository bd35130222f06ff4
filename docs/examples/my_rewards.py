"""A custom reward, used next to rewards.math:accuracy_reward (docs/your-data.md).

A reward function takes the sampled ``completions`` (strings, or chat message lists) and, as keyword
arguments, the dataset columns it names; it returns one float per completion, or None where a
completion cannot be scored. Define it at module top level, so worker processes can import it.
"""

import re

from rewards import completion_text

NUMBER = re.compile(r"\s*-?\d+\s*")


def format_reward(completions, **kwargs) -> list[float]:
    """1.0 when a completion is a bare integer and nothing else (no words, no second number).

    It reads no dataset column, so it works on any data. For a reasoning model you would check
    the format you ask for instead, e.g. that the completion ends with a ``\\boxed{}`` answer.

    >>> format_reward([" 19", " 19 apples", [{"role": "assistant", "content": "7"}]])
    [1.0, 0.0, 1.0]
    """
    return [1.0 if NUMBER.fullmatch(completion_text(c)) else 0.0 for c in completions]
