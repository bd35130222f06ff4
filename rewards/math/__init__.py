"""Math answer verification: extract the final answer, decide equivalence, score a batch.

Pure Python (SymPy only in a separate fallback process); importing it never imports torch.
"""

from rewards.math.equivalence import TIME_LIMIT, is_equivalent
from rewards.math.extract import extract_answer
from rewards.math.reward import accuracy_reward, gold_answer, parse_number, verify, verify_batch
from rewards.math.sympy_worker import warm_up

__all__ = ["TIME_LIMIT", "accuracy_reward", "extract_answer", "gold_answer", "is_equivalent", "parse_number",
           "verify", "verify_batch", "warm_up"]
