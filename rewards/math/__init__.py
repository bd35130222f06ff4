"""Math answer verification: extract the final answer, compare it with the reference."""

from rewards.math.reward import accuracy_reward, extract_answer, is_equivalent, parse_number, verify

__all__ = ["accuracy_reward", "extract_answer", "is_equivalent", "parse_number", "verify"]
