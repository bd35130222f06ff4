"""rlvr's GRPOTrainer vs TRL's GRPOTrainer, same model, same settings, same run.

    python scripts/bench_grpo.py --model D --steps 100 --seeds 0 1 2 --json out.json      # the toy
    python scripts/bench_grpo.py --model smollm2 --prompts 4 --group 8 --max_new_tokens 64 --steps 6 \
        --eval_samples 0 --json out.json                                                   # a real model

D is a folder written by ``python -m rlvr.toy``; ``smollm2`` is SmolLM2-135M-Instruct (offline, see
rlvr.smollm2), prompted through its chat template. Both trainers run on one process with --prompts ×
a group of --group, at most --max_new_tokens new tokens, temperature 1.0, lr 1e-4 constant, no KL, the
same seed, float32, no gradient checkpointing, and the same ``rewards.math.accuracy_reward`` on the
a+b task. Held-out greedy accuracy of both trained models is measured by the same function on the same
held-out prompts, for every seed of --seeds (the mean and a 95% t-interval are reported: one seed is
inside the noise). The seed varies sampling and data order; the split is seed 0's for all, the one the
toy warm start was trained on (another seed's held-out problems would include ones it has seen). Step times come from --repeats runs of each trainer in A-B-B-A order.

**FLOP-bound fraction**: the model's FLOPs per step (2·params per token generated or prompted once, 6·params
per token trained, attention ignored) divided by this machine's measured dense-matmul rate (float32, the
model's own matrix shapes) gives the fastest a step could possibly be; ``flop_fraction`` is that time
over the measured median step. Both trainers are charged the same FLOPs (prompt once per group).

Writes ``{"rlvr": {"step_s_median", "accuracy_after", "flop_fraction", ...}, "trl": {...}, "speedup": ...}``.
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
from rlvr.metrics import t_interval


def splits() -> tuple[list[dict], list[dict]]:
    """The a+b train / held-out split for every seed: the toy warm start (``python -m rlvr.toy``) trained on
    seed 0's train split, so another seed's split would hold out problems the model has seen. The seed
    varies sampling and data order only."""
    from rlvr.toy import arithmetic_splits

    return arithmetic_splits(0)


def model_path(args) -> str:
    """The checkpoint folder both trainers load (``smollm2`` is converted once and cached)."""
    if args.model == "smollm2":
        from rlvr.smollm2 import ensure_smollm2

        return ensure_smollm2()
    return args.model


def run_rlvr(args, out_dir: str, seed: int) -> dict:
    from rlvr.config import GRPOConfig
    from rlvr.tracking import read_jsonl
    from rlvr.trainers import GRPOTrainer

    train_file = os.path.join(out_dir, "train.jsonl")
    os.makedirs(out_dir, exist_ok=True)
    with open(train_file, "w") as f:
        f.writelines(json.dumps(row) + "\n" for row in splits()[0])
    config = GRPOConfig(model_name_or_path=model_path(args), dataset=train_file, prompts_per_step=args.prompts,
                        group_size=args.group, max_new_tokens=args.max_new_tokens, temperature=1.0,
                        learning_rate=1e-4, lr_scheduler_type="constant", kl_coef=0.0, max_steps=args.steps,
                        seed=seed, num_eval_samples=0, report_to=["none"], output_dir=out_dir,
                        disable_progress_bar=True, log_completions_steps=0, dtype="float32",
                        gradient_checkpointing=False)
    trainer = GRPOTrainer(config)
    trainer.train()
    steps = [r for r in read_jsonl(os.path.join(out_dir, "metrics.jsonl")) if "time/step_s" in r][1:]  # warm-up
    result = {f"{key}_median": statistics.median(r[f"time/{key}"] for r in steps)
              for key in ("step_s", "rollout_s", "score_s", "update_s")}
    result["reward_last_20"] = statistics.mean(r["reward/mean"] for r in steps[-20:])
    result["completion_tokens_mean"] = statistics.mean(r["completions/mean_length"] for r in steps)
    return result | held_out(args, out_dir, seed)


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


def run_trl(args, out_dir: str, seed: int) -> dict:
    import datasets
    from transformers import AutoModelForCausalLM
    from trl import GRPOConfig, GRPOTrainer

    from rlvr.modeling import load_tokenizer

    path = model_path(args)
    tokenizer = load_tokenizer(path)  # the toy's: PreTrainedTokenizerFast (not AutoTokenizer)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    train, _ = splits()
    config = GRPOConfig(output_dir=out_dir, use_cpu=True, bf16=False, num_generations=args.group,
                        per_device_train_batch_size=args.prompts * args.group,
                        max_completion_length=args.max_new_tokens, temperature=1.0, learning_rate=1e-4,
                        lr_scheduler_type="constant", beta=0.0, max_steps=args.steps, seed=seed, report_to="none",
                        logging_steps=1, save_strategy="no", disable_tqdm=True,
                        gradient_checkpointing=False)  # TRL's default is True; rlvr does not recompute
    timer = _StepTimer()
    trainer = GRPOTrainer(model=model, reward_funcs=[accuracy_reward], args=config,
                          train_dataset=datasets.Dataset.from_list(train), processing_class=tokenizer,
                          callbacks=[timer])
    trainer.train()
    trainer.model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    marker = os.path.join(path, "rlvr_toy.json")
    if os.path.exists(marker):
        with open(marker) as src, open(os.path.join(out_dir, "rlvr_toy.json"), "w") as dst:
            dst.write(src.read())  # marks the folder as a toy model so its tokenizer loads the same way
    logged = trainer.state.log_history
    rewards = [h["reward"] for h in logged if "reward" in h]
    lengths = [h["completions/mean_length"] for h in logged if "completions/mean_length" in h][1:]
    return {"step_s_median": statistics.median(timer.times[1:]), "reward_last_logged": rewards[-1],
            "completion_tokens_mean": statistics.mean(lengths or [args.max_new_tokens])} | held_out(args, out_dir, seed)


def matmul_rate(hidden: int, seconds: float = 2.0) -> float:
    """This machine's dense float32 matmul rate in FLOP/s, on a (2048 x hidden) @ (hidden x 4 hidden)
    product: the shape of a transformer MLP over a batch of tokens."""
    a, b = torch.randn(2048, hidden), torch.randn(hidden, 4 * hidden)
    torch.mm(a, b)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        torch.mm(a, b)
        n += 1
    return n * 2 * 2048 * hidden * 4 * hidden / (time.perf_counter() - start)


def step_flops(args, n_params: int, prompt_tokens: float, completion_tokens: float) -> float:
    """The model's FLOPs in one step: generation (2·params per prompt token once per group, per
    completion token) and the update's forward + backward (6·params per trained token, prompt once per
    group). Attention's own FLOPs are left out (small at these lengths)."""
    tokens = args.prompts * prompt_tokens + args.prompts * args.group * completion_tokens
    return 2 * n_params * tokens + 6 * n_params * tokens


def model_size(args) -> tuple[int, int, float]:
    """(parameters, hidden size, mean prompt tokens through the chat template) of the benchmark model."""
    from rlvr.data import format_prompt
    from rlvr.modeling import load_causal_lm, load_tokenizer
    from rlvr.toy import arithmetic_splits

    path = model_path(args)
    tokenizer, model = load_tokenizer(path), load_causal_lm(path)
    train, _ = arithmetic_splits(0)
    lengths = [len(tokenizer(format_prompt(tokenizer, r["prompt"]), add_special_tokens=False).input_ids)
               for r in train[:256]]
    return sum(p.numel() for p in model.parameters()), model.config.hidden_size, statistics.mean(lengths)


def held_out(args, model_dir: str, seed: int = 0) -> dict:
    if args.eval_samples <= 0:
        return {}
    from rlvr.data import format_prompt
    from rlvr.evaluation import greedy_accuracy
    from rlvr.modeling import load_causal_lm, load_tokenizer
    from rlvr.rollout import HFGenerator

    tokenizer, model = load_tokenizer(model_dir), load_causal_lm(model_dir)
    _, test = splits()
    test = test[: args.eval_samples]
    texts = [format_prompt(tokenizer, r["prompt"]) for r in test]
    generator = HFGenerator(model, tokenizer.pad_token_id, tokenizer.eos_token_id)
    accuracy, _ = greedy_accuracy(generator, tokenizer, texts, test, accuracy_reward, args.max_new_tokens, "cpu")
    return {"accuracy_after": accuracy}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="a folder written by python -m rlvr.toy, or smollm2")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--prompts", type=int, default=8, help="prompts per step")
    parser.add_argument("--group", type=int, default=8, help="completions per prompt")
    parser.add_argument("--max_new_tokens", type=int, default=8)
    parser.add_argument("--eval_samples", type=int, default=500, help="held-out prompts (0: skip accuracy)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="training seeds (accuracy interval)")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs of each trainer, in A-B-B-A order")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    runners = {"rlvr": run_rlvr, "trl": run_trl}
    n_params, hidden, prompt_tokens = model_size(args)
    rate = matmul_rate(hidden)
    # A, B, B, A, ...: the machine's speed drifts over minutes, so neither side gets all the slow spells.
    # The first seed is timed --repeats times; every other seed runs once per trainer for its accuracy.
    order = [(name, args.seeds[0]) for i in range(args.repeats)
             for name in (["rlvr", "trl"] if i % 2 == 0 else ["trl", "rlvr"])]
    order += [(name, seed) for seed in args.seeds[1:] for name in ("rlvr", "trl")]
    runs: dict[str, list[dict]] = {"rlvr": [], "trl": []}
    with tempfile.TemporaryDirectory() as tmp:
        before = held_out(args, model_path(args))
        for i, (name, seed) in enumerate(order):
            runs[name].append(runners[name](args, os.path.join(tmp, f"{name}{i}"), seed) | {"seed": seed})
    results = {"settings": vars(args) | {"threads": torch.get_num_threads()},
               "accuracy_before": before.get("accuracy_after"),
               "model": {"parameters": n_params, "prompt_tokens_mean": prompt_tokens, "matmul_flops_per_s": rate}}
    for name, per_run in runs.items():
        timed = [r for r in per_run if r["seed"] == args.seeds[0]]
        completion_tokens = statistics.mean(r["completion_tokens_mean"] for r in timed)
        step = statistics.median(r["step_s_median"] for r in timed)
        flops = step_flops(args, n_params, prompt_tokens, completion_tokens)
        results[name] = timed[0] | {"step_s_median": step, "step_s_median_per_run": [r["step_s_median"] for r in timed],
                                    "step_flops": flops, "flop_bound_s": flops / rate,
                                    "flop_fraction": flops / rate / step}
        by_seed = {r["seed"]: r["accuracy_after"] for r in per_run if "accuracy_after" in r}
        if by_seed:
            accs = list(by_seed.values())
            results[name] |= {"accuracy_after": statistics.mean(accs), "accuracy_by_seed": by_seed,
                              "accuracy_ci95": t_interval(accs)}
    results["speedup"] = results["trl"]["step_s_median"] / results["rlvr"]["step_s_median"]
    text = json.dumps(results, indent=2)
    print(text)
    r, t = results["rlvr"], results["trl"]
    print(f"rlvr {r['step_s_median'] * 1000:.0f} ms/step (rollout {r['rollout_s_median'] * 1000:.0f}, "
          f"score {r['score_s_median'] * 1000:.1f}, update {r['update_s_median'] * 1000:.0f}) vs TRL "
          f"{t['step_s_median'] * 1000:.0f} ms/step: {results['speedup']:.2f}x; FLOP-bound fraction rlvr "
          f"{r['flop_fraction']:.1%}, TRL {t['flop_fraction']:.1%} ({rate / 1e9:.0f} GFLOP/s matmul, "
          f"{r['step_flops'] / 1e9:.0f} GFLOP per step)")
    if "accuracy_after" in r:
        def interval(x):
            return f" ± {x['accuracy_ci95']:.1%}" if x["accuracy_ci95"] is not None else ""

        print(f"held-out greedy accuracy over seeds {args.seeds}: before {results['accuracy_before']:.1%}, "
              f"rlvr {r['accuracy_after']:.1%}{interval(r)}, TRL {t['accuracy_after']:.1%}{interval(t)}")
    if args.json:
        with open(args.json, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
