from rlvr.trainers.base import RLTrainer
from rlvr.trainers.grpo import GRPOTrainer
from rlvr.trainers.ppo import PPOTrainer

TRAINERS = {"grpo": GRPOTrainer, "ppo": PPOTrainer}

__all__ = ["TRAINERS", "GRPOTrainer", "PPOTrainer", "RLTrainer"]
