"""Math verifier vs HF math-verify, side by side in one run: accuracy, throughput, worst-case latency.

    python scripts/bench_math.py [--repeat 3] [--conformance-only]

* agreement and false positives on the conformance suite (``tests/rewards/math/conformance.py``: labelled
  cases from other projects' verifier tests), per source project, for rewards.math under both policies
  ("train", "eval") and math-verify called as its own tests call it (``verify(parse(gold), parse(pred))``)
  and as its README shows for a bare reference (wrapped in ``$...$``), with the calls/s of each;
* the same on the held-out suite (``tests/rewards/math/heldout.py``: projects not used while tuning);
* accuracy and false positives on the hand-labelled set (``tests/rewards/math/labelled.py``, 400+ pairs);
* calls/s on one core for the labelled set ("typical pairs") and for GSM8K-style outputs, then with
  every core (``verify_batch`` process pool for rlvr, a process pool of the same size for math-verify);
* worst-case latency on pathological inputs (power towers, huge factorials, deep nesting, 1 MB outputs);
* every gold answer of MATH-500 / AIME / AMC / GSM8K verifies against itself written the way a model
  would, and how often it "verifies" against the next problem's (different) answer.

math-verify is called as its README shows: ``verify(parse(gold), parse(completion))``, with the gold
wrapped in ``\\boxed{}`` so its extractor finds it. Requires ``pip install 'math-verify[antlr4_13_2]'``.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rewards.math import gold_answer, verify, verify_batch, warm_up  # noqa: E402
from rewards.math.latex import normalize  # noqa: E402
from tests.rewards.math.conformance import CASES, project  # noqa: E402
from tests.rewards.math.heldout import CASES as HELDOUT  # noqa: E402
from tests.rewards.math.labelled import SHARED, gsm8k_pairs, labelled_pairs  # noqa: E402

PATHOLOGICAL = [
    ("The answer is $\\boxed{10^{10^{10^{10}}}}$", "10^{10^{10^{11}}}"),
    ("The answer is $\\boxed{9^{9^{9^{9}}}}$", "1"),
    ("The answer is $\\boxed{99999999!}$", "1"),
    ("The answer is $\\boxed{(" + "(" * 800 + "1" + ")" * 800 + ")}$", "1"),
    ("x" * 1_000_000 + " The answer is $\\boxed{42}$", "42"),
    ("The answer is $\\boxed{" + "\\frac{1}{" * 300 + "2" + "}" * 300 + "}$", "1"),
    ("The answer is $\\boxed{" + "{" * 5000 + "$", "1"),
    ("The answer is $\\boxed{" + "+".join(f"x^{{{k}}}" for k in range(300)) + "}$", "\\frac{x^{300}-1}{x-1}"),
    ("The answer is $\\boxed{2^{2^{2^{2^{2^{2}}}}}}$", "2^{2^{65536}}"),
    ("The answer is $\\boxed{\\sqrt{\\sqrt{\\sqrt{\\sqrt{2^{1000000}}}}}}$", "2^{62500}"),
]


def mv_verify(pair) -> bool:
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)  # it logs every timeout with the input
    from math_verify import parse
    from math_verify import verify as mv

    completion, gold = pair
    reference = gold_answer(gold)
    try:
        return bool(mv(parse("\\boxed{" + reference + "}"), parse(completion)))
    except Exception:
        return False


def rlvr_verify(pair) -> bool:
    normalize.cache_clear()  # measure the uncached cost (in training, golds repeat within a group)
    return verify(*pair)


def mv_plain(case) -> bool:
    """math-verify as its own test suite calls it: both sides through ``parse``, default configs."""
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    from math_verify import parse
    from math_verify import verify as mv

    try:
        return bool(mv(parse(case["gold"]), parse(case["completion"])))
    except Exception:
        return False


def mv_wrapped(case) -> bool:
    """math-verify as its README shows for a reference: a bare gold wrapped in ``$...$`` so its LaTeX
    extractor reads it (a gold that already has ``$``, ``\\(``, ``\\[`` or ``\\boxed`` is passed as is)."""
    gold = case["gold"]
    if not any(t in gold for t in ("$", "\\(", "\\[", "\\boxed")):
        gold = "$" + gold + "$"
    return mv_plain({"gold": gold, "completion": case["completion"]})


def conformance(cases=CASES) -> None:
    """Agreement with a suite's labels per source project, side by side, with speed."""
    verifiers = {"rlvr/train": lambda c: verify(c["completion"], c["gold"], policy="train"),
                 "rlvr/eval": lambda c: verify(c["completion"], c["gold"], policy="eval"),
                 "math-verify": mv_plain, "math-verify ($gold$)": mv_wrapped}
    table, speed = {}, {}
    for name, fn in verifiers.items():
        start = time.perf_counter()
        table[name] = [(c, fn(c)) for c in cases]
        speed[name] = len(cases) / (time.perf_counter() - start)
    projects = sorted({project(c) for c in cases}, key=lambda p: -sum(project(c) == p for c in cases))
    print(f"{'source':30s} {'n':>4s} " + " ".join(f"{n:>21s}" for n in verifiers))
    scopes = projects + ["all"] + (["all but Math-Verify's own"] if "huggingface/Math-Verify" in projects else [])
    for scope in scopes:
        cells = []
        for name in verifiers:
            rows = [(c, got) for c, got in table[name] if scope == project(c) or scope == "all"
                    or (scope.startswith("all but") and project(c) != "huggingface/Math-Verify")]
            right = sum(got == c["label"] for c, got in rows)
            fp = sum(got and not c["label"] for c, got in rows)
            cells.append(f"{right / len(rows):7.1%} ({fp:2d} FP)")
        print(f"{scope:30s} {len(rows):4d} " + " ".join(f"{cell:>21s}" for cell in cells))
    print("calls/s on this suite (one core, first pass): "
          + "   ".join(f"{n} {r:.0f}" for n, r in speed.items()))
    disagree = sum(c["label"] != c["source_label"] for c in cases)
    print(f"({disagree} cases are labelled against their source's own label; each says why in its note)")


def accuracy(fn, rows) -> dict:
    tp = fp = fn_ = tn = 0
    wrong = []
    for r in rows:
        got = fn((r["completion"], r["gold"]))
        if got and r["label"]:
            tp += 1
        elif got:
            fp += 1
        elif r["label"]:
            fn_ += 1
        else:
            tn += 1
        if got != r["label"]:
            wrong.append(r["category"])
    n = len(rows)
    return {"accuracy": (tp + tn) / n, "false_positives": fp, "false_negatives": fn_, "n": n, "wrong_by_category": wrong}


def rate(fn, pairs, repeat: int) -> tuple[float, float]:
    """calls/s (best of ``repeat`` passes) and the slowest single call in seconds."""
    best, worst = float("inf"), 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        for pair in pairs:
            t = time.perf_counter()
            fn(pair)
            worst = max(worst, time.perf_counter() - t)
        best = min(best, time.perf_counter() - start)
    return len(pairs) / best, worst


def pooled_rate_mv(pairs, workers: int) -> float:
    with multiprocessing.get_context("forkserver").Pool(workers) as pool:
        pool.map(mv_verify, pairs[:workers * 4])  # warm the imports
        start = time.perf_counter()
        pool.map(mv_verify, pairs, chunksize=max(1, len(pairs) // (workers * 4)))
        return len(pairs) / (time.perf_counter() - start)


def pooled_rate_rlvr(pairs, workers: int) -> float:
    completions, golds = zip(*pairs)
    verify_batch(completions[:512], golds[:512], num_workers=workers)  # start and warm the pool
    start = time.perf_counter()
    verify_batch(completions, golds, num_workers=workers)
    return len(pairs) / (time.perf_counter() - start)


def golds_self_check() -> dict:
    out = {}
    for name, field in (("math500_test", "answer"), ("aime2024_test", "answer"), ("amc2023_test", "answer"),
                        ("gsm8k_test", "answer")):
        path = SHARED / f"{name}.jsonl"
        if not path.exists():
            continue
        golds = [json.loads(line)[field] for line in open(path)]
        answers = [gold_answer(g) for g in golds]
        own = sum(verify(f"The final answer is $\\boxed{{{a}}}$", g) for a, g in zip(answers, golds))
        cross = [(answers[k], answers[k - 1]) for k in range(len(golds))
                 if answers[k] != answers[k - 1] and verify(f"The final answer is $\\boxed{{{answers[k]}}}$", golds[k - 1])]
        out[name] = {"n": len(golds), "self_verified": own, "cross_matches": cross}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--conformance-only", action="store_true", help="only the conformance suite")
    args = parser.parse_args()
    warm_up()
    time.sleep(2)  # let the SymPy fallback worker finish importing (a one-time cost per process)
    print(f"== conformance suite: {len(CASES)} labelled cases from other projects' verifier tests ==")
    conformance()
    print(f"\n== held-out: {len(HELDOUT)} labelled cases from 7 projects not used while tuning (see heldout.py) ==")
    conformance(HELDOUT)
    if args.conformance_only:
        return
    rows = labelled_pairs()
    pairs = [(r["completion"], r["gold"]) for r in rows]
    gsm = [(r["completion"], r["gold"]) for r in gsm8k_pairs(n=400)]
    workers = os.cpu_count() or 1
    print(f"labelled pairs: {len(rows)}; GSM8K-style pairs: {len(gsm)}; cores: {workers}")

    print("\n== accuracy on the labelled set ==")
    for name, fn in (("rlvr", rlvr_verify), ("math-verify", mv_verify)):
        acc = accuracy(fn, rows)
        cats = {c: acc["wrong_by_category"].count(c) for c in sorted(set(acc["wrong_by_category"]))}
        print(f"{name:12s} accuracy {acc['accuracy']:.2%}  false positives {acc['false_positives']}  "
              f"false negatives {acc['false_negatives']}  wrong by category {cats}")

    print(f"\n== throughput, one core (best of {args.repeat} passes) ==")
    results = {}
    typical = [(r["completion"], r["gold"]) for r in rows if r["category"] not in ("adversarial", "hacking", "no_answer")]
    for label, data in (("typical", typical), ("labelled", pairs), ("gsm8k", gsm)):
        r_rate, r_worst = rate(rlvr_verify, data, args.repeat)
        m_rate, m_worst = rate(mv_verify, data, 1)
        results[label] = (r_rate, m_rate)
        print(f"{label:9s} rlvr {r_rate:9.0f} calls/s (slowest {r_worst * 1e3:6.1f} ms)   "
              f"math-verify {m_rate:7.0f} calls/s (slowest {m_worst * 1e3:6.1f} ms)   ratio {r_rate / m_rate:5.1f}x")

    print(f"\n== throughput, {workers} processes ==")
    big = (pairs * 10)[:4000]
    r_pool, m_pool = pooled_rate_rlvr(big, workers), pooled_rate_mv(big, workers)
    print(f"labelled x10: rlvr {r_pool:.0f} calls/s   math-verify {m_pool:.0f} calls/s   ratio {r_pool / m_pool:.1f}x")

    print("\n== worst-case latency on pathological inputs ==")
    for name, fn in (("rlvr", rlvr_verify), ("math-verify", mv_verify)):
        times = []
        for pair in PATHOLOGICAL:
            t = time.perf_counter()
            fn(pair)
            times.append(time.perf_counter() - t)
        print(f"{name:12s} max {max(times):6.3f} s   mean {sum(times) / len(times):6.3f} s   "
              f"per input {[round(t, 3) for t in times]}")

    print("\n== data-set golds ==")
    for name, res in golds_self_check().items():
        print(f"{name:14s} {res['self_verified']}/{res['n']} verify against themselves; "
              f"{len(res['cross_matches'])} match the previous row's different-looking answer {res['cross_matches'][:8]}")


if __name__ == "__main__":
    main()
