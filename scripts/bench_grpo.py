"""rlvr's GRPOTrainer vs TRL's GRPOTrainer, same model, same settings, same run.

    python scripts/bench_grpo.py --model D --steps 100 --json out.json

D is a folder written by ``python -m rlvr.toy``. Both trainers run on one process with 8 prompts ×
a group of 8, at most --max_new_tokens new tokens, temperature 1.0, lr 1e-4 constant, no KL, the
same seed, no gradient checkpointing, and the same ``rewards.math.accuracy_reward``. Held-out greedy accuracy of both trained
models is measured by the same function on the same held-out prompts. Writes
``{"rlvr": {"step_s_median", "accuracy_after", ...}, "trl": {...}, "speedup": ...}``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

import torch

from rewards.math import accuracy_reward


def run_rlvr(args, out_dir: str) -> dict:
    from rlvr.config import GRPOConfig
    from rlvr.tracking import read_jsonl
    from rlvr.trainers import GRPOTrainer

    config = GRPOConfig(model_name_or_path=args.model, dataset="toy", prompts_per_step=8, group_size=8,
                        max_new_tokens=args.max_new_tokens, temperature=1.0, learning_rate=1e-4,
                        lr_scheduler_type="constant", kl_coef=0.0, max_steps=args.steps, seed=args.seed,
                        num_eval_samples=0, report_to=["none"], output_dir=out_dir, disable_progress_bar=True,
                        log_completions_steps=0)
    trainer = GRPOTrainer(config)
    trainer.train()
    steps = [r for r in read_jsonl(os.path.join(out_dir, "metrics.jsonl")) if "time/step_s" in r][1:]  # warm-up
    result = {f"{key}_median": statistics.median(r[f"time/{key}"] for r in steps)
              for key in ("step_s", "rollout_s", "score_s", "update_s")}
    result["reward_last_20"] = statistics.mean(r["reward/mean"] for r in steps[-20:])
    return result | held_out(args, out_dir)


class _StepTimer:
    """A TRL callback recording wall time per optimizer step (generation included: TRL samples
    inside ``training_step``)."""

    def __new__(cls):
        from transformers import TrainerCallback

        class Timer(TrainerCallback):
            def __init__(self):
                self.times, self._start = [], None

            def on_step_begin(self, *a, **k):
                self._start = time.perf_counter()

            def on_step_end(self, *a, **k):
                self.times.append(time.perf_counter() - self._start)

        return Timer()


def run_trl(args, out_dir: str) -> dict:
    import datasets
    from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast
    from trl import GRPOConfig, GRPOTrainer

    from rlvr.toy import arithmetic_splits

    tokenizer = PreTrainedTokenizerFast.from_pretrained(args.model)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32)
    train, _ = arithmetic_splits(args.seed)
    config = GRPOConfig(output_dir=out_dir, use_cpu=True, bf16=False, num_generations=8,
                        per_device_train_batch_size=64, max_completion_length=args.max_new_tokens,
                        temperature=1.0, learning_rate=1e-4, lr_scheduler_type="constant", beta=0.0,
                        max_steps=args.steps, seed=args.seed, report_to="none", logging_steps=10,
                        save_strategy="no", disable_tqdm=True,
                        gradient_checkpointing=False)  # TRL's default is True; rlvr does not recompute
    timer = _StepTimer()
    trainer = GRPOTrainer(model=model, reward_funcs=[accuracy_reward], args=config,
                          train_dataset=datasets.Dataset.from_list(train), processing_class=tokenizer,
                          callbacks=[timer])
    trainer.train()
    trainer.model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    with open(os.path.join(args.model, "rlvr_toy.json")) as src, open(os.path.join(out_dir, "rlvr_toy.json"), "w") as dst:
        dst.write(src.read())  # marks the folder as a toy model so its tokenizer loads the same way
    rewards = [h["reward"] for h in trainer.state.log_history if "reward" in h]
    return {"step_s_median": statistics.median(timer.times[1:]), "reward_last_logged": rewards[-1]} | held_out(
        args, out_dir)


def held_out(args, model_dir: str) -> dict:
    if args.eval_samples <= 0:
        return {}
    from rlvr.data import format_prompt
    from rlvr.evaluation import greedy_accuracy
    from rlvr.modeling import load_causal_lm, load_tokenizer
    from rlvr.rollout import HFGenerator
    from rlvr.toy import arithmetic_splits

    tokenizer, model = load_tokenizer(model_dir), load_causal_lm(model_dir)
    _, test = arithmetic_splits(args.seed)
    test = test[: args.eval_samples]
    texts = [format_prompt(tokenizer, r["prompt"]) for r in test]
    generator = HFGenerator(model, tokenizer.pad_token_id, tokenizer.eos_token_id)
    accuracy, _ = greedy_accuracy(generator, tokenizer, texts, test, accuracy_reward, args.max_new_tokens, "cpu")
    return {"accuracy_after": accuracy}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="a folder written by python -m rlvr.toy")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--max_new_tokens", type=int, default=8)
    parser.add_argument("--eval_samples", type=int, default=500, help="held-out prompts (0: skip accuracy)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=2, help="runs of each trainer, in A-B-B-A order")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    runners = {"rlvr": run_rlvr, "trl": run_trl}
    # A, B, B, A, ...: the machine's speed drifts over minutes, so neither side gets all the slow spells.
    order = [name for i in range(args.repeats) for name in (["rlvr", "trl"] if i % 2 == 0 else ["trl", "rlvr"])]
    runs: dict[str, list[dict]] = {"rlvr": [], "trl": []}
    with tempfile.TemporaryDirectory() as tmp:
        before = held_out(args, args.model)
        for i, name in enumerate(order):
            runs[name].append(runners[name](args, os.path.join(tmp, f"{name}{i}")))
    results = {"settings": vars(args) | {"threads": torch.get_num_threads()},
               "accuracy_before": before.get("accuracy_after")}
    for name, per_run in runs.items():  # the same seed gives the same training: accuracy from run 1
        results[name] = per_run[0] | {"step_s_median": statistics.median(r["step_s_median"] for r in per_run),
                                      "step_s_median_per_run": [r["step_s_median"] for r in per_run]}
    results["speedup"] = results["trl"]["step_s_median"] / results["rlvr"]["step_s_median"]
    text = json.dumps(results, indent=2)
    print(text)
    r, t = results["rlvr"], results["trl"]
    print(f"rlvr {r['step_s_median'] * 1000:.0f} ms/step (rollout {r['rollout_s_median'] * 1000:.0f}, "
          f"score {r['score_s_median'] * 1000:.1f}, update {r['update_s_median'] * 1000:.0f}) vs TRL "
          f"{t['step_s_median'] * 1000:.0f} ms/step: {results['speedup']:.2f}x")
    if "accuracy_after" in r:
        print(f"held-out greedy accuracy: before {results['accuracy_before']:.1%}, rlvr {r['accuracy_after']:.1%}, "
              f"TRL {t['accuracy_after']:.1%}")
    if args.json:
        with open(args.json, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
