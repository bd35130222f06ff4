"""Programmatic verifiers used as reward functions.

A reward function follows TRL's contract::

    f(completions, **dataset_columns) -> list[float | None]

``completions`` holds one entry per sampled completion: a string, or a chat message list
(``[{"role": "assistant", "content": "..."}]``). Every dataset column arrives as a keyword
argument holding one value per completion. ``None`` means "cannot be scored" (the trainer turns it
into NaN and gives that completion zero advantage). Reward functions are plain top-level
functions so they pickle into worker processes; this package never imports torch or rlvr.
"""

from rewards.contract import RewardError, call_reward, completion_text, reward_name

__all__ = ["RewardError", "call_reward", "completion_text", "reward_name"]
