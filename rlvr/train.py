"""Training entry point.

    accelerate launch -m rlvr.train --config recipes/toy/grpo_arithmetic.yaml [--key value ...]
    python -m rlvr.train --config recipes/toy/ppo_arithmetic.yaml           # one process
"""

from __future__ import annotations

from rlvr.config import parse_config
from rlvr.trainers import TRAINERS


def main(argv: list[str] | None = None) -> dict:
    config = parse_config(None, argv)  # the recipe's `algorithm` (grpo / ppo) picks config and trainer
    return TRAINERS[config.algorithm](config).train()


if __name__ == "__main__":
    main()
