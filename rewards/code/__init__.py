"""Code verification: run model-written programs against unit tests in a hardened local sandbox.

Threat model
------------
The program is hostile: it was written under RL pressure to make the reward say "passed". It may read,
write or execute anything its process can reach, patch any Python object in its process, forge messages
on its channel, exhaust resources, or try to reach the network. The test code is input too (it may loop
or exit). We trust: this package, the Python installation and the kernel.

* **The verdict is computed outside the program's process**, by a sandboxed judge process that runs the
  test code (judge.py); the caller only validates one small verdict message, so neither the program's
  replies nor the test code can cost it time or memory, or raise out of ``run_tests``.
* **Comparisons cannot be hijacked**: values cross as a type-exact encoding (wire.py) and are rebuilt as
  genuine builtins; other objects stay in the sandbox as opaque handles equal to nothing.
* **Isolation** (zygote.py): process groups, rlimits, one process per program, ``nobody`` in every id as
  root, Landlock (reading only the standard library, allowed packages and mapped files), seccomp.
* **Refusal**: without Landlock or seccomp the sandbox raises ``SandboxUnavailable`` unless
  ``RLVR_SANDBOX_ALLOW_WEAK=1``; ``sandbox_report()`` says what is active. docs/rewards.md has the table.

Helpers that the test code calls but the program defines (HumanEval's ``encode_cyclic``) are part of the
program, as in HumanEval itself. Arguments are copied into the sandbox, so a test that checks in-place
mutation of its own argument cannot see it.
"""

from rewards.code.judge import outputs_match
from rewards.code.reward import TestResult, extract_code, leetcode_reward, run_tests, unit_test_reward
from rewards.code.sandbox import Limits, SandboxUnavailable


def sandbox_report() -> dict:
    """What this process's sandbox enforces: Landlock ABI, seccomp, network namespace, root, read capability."""
    from rewards.code.sandbox import sandbox as current  # the module attribute ``sandbox`` stays the module

    current().ensure_started()
    return {k: v for k, v in current().info.items() if k != "ready"}


LEETCODE_PRELUDE = (
    "from typing import *\nfrom collections import *\nfrom functools import *\nfrom itertools import *\n"
    "from heapq import *\nfrom bisect import *\nfrom math import *\nfrom string import *\nfrom operator import *\n"
    "import math, string, re, random, operator, collections, itertools, functools, heapq, bisect"
)

__all__ = ["LEETCODE_PRELUDE", "Limits", "SandboxUnavailable", "TestResult", "extract_code", "leetcode_reward", "outputs_match", "run_tests",
           "sandbox_report", "unit_test_reward"]
