"""Training entry point.

    accelerate launch -m rlvr.train --config recipes/toy/grpo_arithmetic.yaml [--key value ...]
    python -m rlvr.train --config recipes/toy/grpo_arithmetic.yaml          # one process
"""

from __future__ import annotations

from rlvr.config import GRPOConfig, parse_config
from rlvr.trainers import GRPOTrainer


def main(argv: list[str] | None = None) -> dict:
    config = parse_config(GRPOConfig, argv)
    return GRPOTrainer(config).train()


if __name__ == "__main__":
    main()
