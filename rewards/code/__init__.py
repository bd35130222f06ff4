"""Code verification: run model-written programs against unit tests in a hardened local sandbox.

Threat model
------------
The program is hostile: it was written under RL pressure to make the reward say "passed". It may read,
write or execute anything its process can reach, patch any Python object in its process, fork, exhaust
resources, or try to reach the network. We trust: this package, the test code and expected outputs (from
the data set), the Python installation and the kernel.

What follows from it:

* **The verdict is computed outside the program's process.** Tests run in the harness (the caller's
  process or its reward pool worker); the program is an oracle answering calls over a socket. Its exit
  status, its stdout markers and anything it writes are never read as "passed".
* **Comparisons cannot be hijacked.** Results cross as a type-exact encoding of plain builtins
  (int, float, complex, str, bytes, bool, None, list, tuple, dict, set, frozenset; no subclasses) and are
  rebuilt here; other objects stay in the sandbox as opaque handles equal to nothing. Expected values
  never enter the sandbox; nor does the test code, so test frameworks and the harness cannot be patched.
* **Isolation** (Linux): own session and process group, killed as a whole (new sessions/groups are
  denied, so daemonised grandchildren die too); rlimits on CPU, address space, processes, file size and
  open files; privileges dropped to ``nobody`` when running as root; Landlock confines the filesystem to
  reading the Python installation and system libraries (no writes or new files anywhere, no data sets,
  no caller source); seccomp denies sockets, ptrace, namespaces and the like; as root, an empty network
  namespace too; a private working directory removed afterwards; an empty environment; output capped.
* **Weaker where the kernel lacks features**: without Landlock (Linux < 5.13) the filesystem is only
  protected by the ``nobody`` user (root) or not at all (non-root); on architectures other than x86_64 and
  aarch64 there is no seccomp filter. ``sandbox_report()`` says what is active.

Helpers that the test code calls but the program defines (HumanEval's ``encode_cyclic``) are part of the
program, as in HumanEval itself. Arguments are copied into the sandbox, so a test that checks in-place
mutation of its own argument cannot see it.
"""

from rewards.code.judge import outputs_match
from rewards.code.reward import TestResult, extract_code, leetcode_reward, run_tests, unit_test_reward
from rewards.code.sandbox import Limits

LEETCODE_PRELUDE = (
    "from typing import *\nfrom collections import *\nfrom functools import *\nfrom itertools import *\n"
    "from heapq import *\nfrom bisect import *\nfrom math import *\nfrom string import *\nfrom operator import *\n"
    "import math, string, re, random, operator, collections, itertools, functools, heapq, bisect"
)

__all__ = ["LEETCODE_PRELUDE", "Limits", "TestResult", "extract_code", "leetcode_reward", "outputs_match", "run_tests",
           "unit_test_reward"]
