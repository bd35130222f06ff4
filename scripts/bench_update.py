"""The update's padding on a real model: micro-batches sorted by length and trimmed (rlvr's default) vs
every micro-batch padded to the rollout's longest completion (rlvr before, and trainers that pad once).

    python scripts/bench_update.py [--prompts 4 --group 8 --max_new_tokens 128 --micro_batch_size 4 8 16 --repeats 2]

SmolLM2-135M-Instruct (offline, rlvr.smollm2), float32, one real rollout of the small_sums prompts at
temperature 1.0, where an untrained instruct model's answers run from a dozen tokens to the limit: the
variable lengths of real RL. The same batch is updated by ``GRPOTrainer.update`` under both variants
(weights restored between runs), A-B-B-A. Reports the median update seconds, the fraction of the
processed (rows x columns) token grid that is padding, and the ratio. The gradient is the same in both
(tests/rlvr/trainers/test_grpo.py::test_micro_batches_sorted_by_length_and_trimmed_keep_the_gradient_with_less_padding).
Last, on one micro-batch of the whole rollout: the shared-prompt forward (each group's prompt run once, its
KV cache repeated for the group) vs every row running its own copy of the prompt, at the chat template's
real prompt length.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from unittest import mock

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=int, default=4)
    parser.add_argument("--group", type=int, default=8)
    parser.add_argument("--max_new_tokens", type=int, default=128)
    parser.add_argument("--micro_batch_size", type=int, nargs="+", default=[4, 8, 16])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()

    from rlvr.config import GRPOConfig
    from rlvr.trainers import GRPOTrainer
    from rlvr.trainers.base import Timer
    from rlvr.types import Rollout

    results = {"settings": vars(args) | {"threads": torch.get_num_threads()}}
    with tempfile.TemporaryDirectory() as tmp:
        config = GRPOConfig(model_name_or_path="smollm2", dataset="small_sums", prompts_per_step=args.prompts,
                            group_size=args.group, max_new_tokens=args.max_new_tokens, temperature=1.0,
                            learning_rate=1e-6, num_eval_samples=0, report_to=["none"], output_dir=tmp,
                            disable_progress_bar=True, micro_batch_size=args.micro_batch_size[0])
        trainer = GRPOTrainer(config)
        torch.manual_seed(0)
        batch, _ = trainer.sample_batch(Timer())
        batch.advantages = trainer.compute_advantages(batch)
        lengths = batch.completion_mask.sum(1)
        results["completion_lengths"] = {"min": int(lengths.min()), "median": float(lengths.float().median()),
                                         "max": int(lengths.max()), "width": batch.completion_mask.shape[1]}
        print(f"completion lengths: {results['completion_lengths']}", flush=True)
        model = trainer.accelerator.unwrap_model(trainer.model)
        start = {k: v.clone() for k, v in model.state_dict().items()}

        def run(variant: str, micro: int) -> tuple[float, float]:
            # as the trainer sizes it: a group's prompt is shared when micro-batches hold whole groups
            share = args.group if variant != "prompt_per_row" and micro % args.group == 0 else 1
            trainer.sizes = trainer.sizes.__class__(**{**vars(trainer.sizes), "micro_batch_size": micro,
                                                     "grad_accum_steps": trainer.sizes.mini_batch_size // micro,
                                                     "prefix_share": share})
            trainer.accelerator.gradient_accumulation_steps = trainer.sizes.grad_accum_steps
            trainer.config.sort_micro_batches = variant == "sorted_trimmed"
            padded = mock.patch.object(Rollout, "trimmed", lambda self: self) if variant == "padded" else mock.MagicMock()
            with padded:
                t = time.perf_counter()
                stats = trainer.update(batch)
                elapsed = time.perf_counter() - t
            model.load_state_dict(start)
            return elapsed, stats["update/padded_fraction"]

        for micro in args.micro_batch_size:
            times: dict[str, list[float]] = {"padded": [], "sorted_trimmed": []}
            padding = {}
            order = [v for i in range(args.repeats) for v in (["padded", "sorted_trimmed"] if i % 2 == 0
                                                              else ["sorted_trimmed", "padded"])]
            for variant in ["padded"] + order:  # one warm-up
                elapsed, padding[variant] = run(variant, micro)
                times[variant].append(elapsed)
            entry = {v: {"update_s_median": statistics.median(ts[1:] if v == "padded" else ts),
                         "padded_fraction": padding[v]} for v, ts in times.items()}
            entry["speedup"] = entry["padded"]["update_s_median"] / entry["sorted_trimmed"]["update_s_median"]
            results[f"micro_batch_size_{micro}"] = entry
            print(f"micro-batches of {micro}: padded to the rollout {entry['padded']['update_s_median']:.1f} s "
                  f"({padding['padded']:.0%} padding), sorted + trimmed {entry['sorted_trimmed']['update_s_median']:.1f} s "
                  f"({padding['sorted_trimmed']:.0%} padding): {entry['speedup']:.2f}x", flush=True)
        # the shared-prompt forward (each group's prompt once, its KV cache repeated) vs every row's own prompt
        whole = args.prompts * args.group
        times = {"prompt_per_row": [], "shared_prompt": []}
        for variant in ["prompt_per_row", "prompt_per_row", "shared_prompt", "shared_prompt", "prompt_per_row"]:
            times[variant].append(run(variant, whole)[0])
        entry = {v: statistics.median(ts[1:] if v == "prompt_per_row" else ts) for v, ts in times.items()}
        entry["speedup"] = entry["prompt_per_row"] / entry["shared_prompt"]
        entry["prompt_tokens_mean"] = float(batch.prompt_mask.sum(1).float().mean())
        results["shared_prompt"] = entry
        print(f"one micro-batch, prompts of {entry['prompt_tokens_mean']:.0f} tokens: every row's prompt "
              f"{entry['prompt_per_row']:.1f} s, each group's prompt once {entry['shared_prompt']:.1f} s: "
              f"{entry['speedup']:.2f}x", flush=True)
    print(json.dumps(results, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
