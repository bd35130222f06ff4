"""GRPO vs PPO (vs RLOO) on the toy recipes, one after the other in the same run.

    python scripts/bench_algorithms.py --steps 300 --json out.json

Each algorithm trains from the same cached toy model with its recipe (recipes/toy/*_arithmetic.yaml,
64 completions per step in both) and reports held-out greedy accuracy every --eval_steps and the
median seconds per step with its rollout / score / update split.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile

from rlvr.config import parse_config
from rlvr.tracking import read_jsonl
from rlvr.trainers import TRAINERS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNS = {
    "grpo": ("grpo_arithmetic.yaml", []),
    "rloo": ("grpo_arithmetic.yaml", ["--advantage_estimator", "rloo"]),
    "ppo": ("ppo_arithmetic.yaml", []),
}


def run(name: str, args, out_dir: str) -> dict:
    recipe, extra = RUNS[name]
    config = parse_config(None, ["--config", os.path.join(ROOT, "recipes", "toy", recipe), "--output_dir", out_dir,
                                 "--max_steps", str(args.steps), "--eval_steps", str(args.eval_steps),
                                 "--save_steps", "0", "--report_to", "none", "--disable_progress_bar", "true",
                                 *extra])
    TRAINERS[config.algorithm](config).train()
    records = read_jsonl(os.path.join(out_dir, "metrics.jsonl"))
    steps = [r for r in records if "time/step_s" in r][1:]
    return {"accuracy": {r["step"]: r["eval/accuracy"] for r in records if r.get("eval/accuracy") is not None},
            **{f"{k}_s_median": statistics.median(r[f"time/{k}_s"] for r in steps)
               for k in ("step", "rollout", "score", "update")}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--eval_steps", type=int, default=50)
    parser.add_argument("--algorithms", nargs="+", default=["grpo", "ppo"], choices=sorted(RUNS))
    parser.add_argument("--json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = {name: run(name, args, os.path.join(tmp, name)) for name in args.algorithms}
    print(json.dumps(results, indent=2))
    for name, r in results.items():
        curve = ", ".join(f"{step}: {acc:.1%}" for step, acc in r["accuracy"].items())
        print(f"{name}: {r['step_s_median'] * 1000:.0f} ms/step (rollout {r['rollout_s_median'] * 1000:.0f}, "
              f"update {r['update_s_median'] * 1000:.0f}); accuracy {curve}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
