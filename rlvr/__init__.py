"""rlvr: reinforcement learning with verifiable rewards on language models.

Names are imported lazily so that ``import rlvr.toy`` (or a reward worker process) does not pay
for importing the trainers, accelerate and deepspeed.
"""

import importlib

__version__ = "0.1.0"
_EXPORTS = {"GRPOConfig": "rlvr.config", "PPOConfig": "rlvr.config", "RLConfig": "rlvr.config",
            "GRPOTrainer": "rlvr.trainers", "PPOTrainer": "rlvr.trainers", "RLTrainer": "rlvr.trainers"}
__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'rlvr' has no attribute {name!r}")
