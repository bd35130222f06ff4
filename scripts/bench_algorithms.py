"""The objectives and estimators side by side on the toy recipes, one after the other in the same run.

    python scripts/bench_algorithms.py --steps 300 --seeds 0 1 2 --algorithms grpo gspo cispo --json out.json

Each algorithm trains from the same cached toy model with its recipe (recipes/toy/*_arithmetic.yaml,
64 completions per step in all) and reports held-out greedy accuracy every --eval_steps and the
median seconds per step with its rollout / score / update split. With several --seeds (each seed also
warm-starts its own toy model), the final accuracy and the gain over each seed's start are given as a
mean with a 95% t-interval over the seeds (one seed is inside the noise).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile

from rlvr.config import parse_config
from rlvr.metrics import t_interval
from rlvr.tracking import read_jsonl
from rlvr.trainers import TRAINERS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNS = {
    "grpo": ("grpo_arithmetic.yaml", []),
    "rloo": ("grpo_arithmetic.yaml", ["--advantage_estimator", "rloo"]),
    "ppo": ("ppo_arithmetic.yaml", []),
    "gspo": ("gspo_arithmetic.yaml", []),
    "gspo_token": ("ppo_gspo_token_arithmetic.yaml", []),
    "cispo": ("cispo_arithmetic.yaml", []),
    "reinforce_pp": ("reinforce_pp_arithmetic.yaml", []),
    "reinforce_pp_baseline": ("reinforce_pp_baseline_arithmetic.yaml", []),
}


def run(name: str, args, out_dir: str, seed: int) -> dict:
    recipe, extra = RUNS[name]
    config = parse_config(None, ["--config", os.path.join(ROOT, "recipes", "toy", recipe), "--output_dir", out_dir,
                                 "--max_steps", str(args.steps), "--eval_steps", str(args.eval_steps),
                                 "--save_steps", "0", "--report_to", "none", "--disable_progress_bar", "true",
                                 "--seed", str(seed), *extra])
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
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs = {name: [run(name, args, os.path.join(tmp, f"{name}_{seed}"), seed) for seed in args.seeds]
                for name in args.algorithms}
    results = {}
    for name, by_seed in runs.items():
        finals = [list(r["accuracy"].values())[-1] for r in by_seed]
        # the toy's warm start depends on the seed, so the gain over each seed's own start is the paired figure
        gains = [list(r["accuracy"].values())[-1] - list(r["accuracy"].values())[0] for r in by_seed]
        mean, gain = statistics.mean(finals), statistics.mean(gains)
        half, gain_half = t_interval(finals), t_interval(gains)
        results[name] = {"seeds": args.seeds, "final_accuracy": finals, "final_mean": mean, "final_ci95": half,
                         "gain": gains, "gain_mean": gain, "gain_ci95": gain_half,
                         "runs": by_seed, **{k: statistics.median(r[k] for r in by_seed)
                                             for k in ("step_s_median", "rollout_s_median", "update_s_median")}}
        curve = ", ".join(f"{step}: {acc:.1%}" for step, acc in by_seed[0]["accuracy"].items())
        interval = f" ± {half:.1%}" if half is not None else ""
        gain_interval = f" ± {gain_half:.1%}" if gain_half is not None else ""
        print(f"{name}: final accuracy {mean:.1%}{interval} over seeds {args.seeds} {[f'{a:.1%}' for a in finals]}, "
              f"gain over the start {gain:+.1%}{gain_interval}; "
              f"{results[name]['step_s_median'] * 1000:.0f} ms/step (rollout "
              f"{results[name]['rollout_s_median'] * 1000:.0f}, update {results[name]['update_s_median'] * 1000:.0f}); "
              f"seed {args.seeds[0]} curve {curve}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
