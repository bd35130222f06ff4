from rlvr.trainers.base import RLTrainer
from rlvr.trainers.grpo import GRPOTrainer

__all__ = ["GRPOTrainer", "RLTrainer"]
