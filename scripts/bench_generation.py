"""Generation throughput on a real model against the FLOP-bound limit: rlvr's sampler vs transformers'
``generate``, same prompts, same seed, same tokens.

    python scripts/bench_generation.py [--batch 32 64 --group 8 --max_new_tokens 64 --repeats 3]

SmolLM2-135M-Instruct (offline, rlvr.smollm2), float32, the small_sums prompts through its chat template,
temperature 0.7. Both backends prefill each prompt once and repeat its KV cache for the group (rlvr.rollout),
and with one seed draw exactly the same tokens, so the work is identical; only the per-token overhead differs.
For each batch (prompts x group rows) reports generated tokens/s (completion tokens up to each row's eos),
and the FLOP-bound fraction: 2·params FLOPs per prompt token (once per group) and per generated token, at
this machine's measured float32 matmul rate (scripts/bench_grpo.py's), over the measured time. Rows that
finished early still occupy the batch until the longest row ends; that waste is part of the fraction.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[32, 64], help="rows sampled at once")
    parser.add_argument("--group", type=int, default=8)
    parser.add_argument("--max_new_tokens", type=int, default=64)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each backend, A-B-B-A")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()

    from bench_grpo import matmul_rate

    from rlvr.data import format_prompt, load_rows
    from rlvr.modeling import load_causal_lm, load_tokenizer
    from rlvr.rollout import HFGenerator, KVCacheSampler, SamplingParams, encode_prompts
    from rlvr.smollm2 import ensure_smollm2

    path = ensure_smollm2()
    tokenizer, model = load_tokenizer(path), load_causal_lm(path).eval()
    n_params = sum(p.numel() for p in model.parameters())
    rate = matmul_rate(model.config.hidden_size)
    rows = load_rows("small_sums", "train").to_list()
    backends = {"rlvr": KVCacheSampler, "transformers": HFGenerator}
    params = SamplingParams(max_new_tokens=args.max_new_tokens, temperature=args.temperature)
    results = {"settings": vars(args) | {"threads": torch.get_num_threads()},
               "model": {"parameters": n_params, "matmul_flops_per_s": rate}}
    for batch in args.batch:
        prompts = [format_prompt(tokenizer, r["prompt"]) for r in rows[: batch // args.group]]
        ids, mask = encode_prompts(tokenizer, prompts)
        seconds: dict[str, list[float]] = {name: [] for name in backends}
        tokens = {}
        order = [n for i in range(args.repeats) for n in (["rlvr", "transformers"] if i % 2 == 0
                                                         else ["transformers", "rlvr"])]
        for name in ["rlvr", "transformers"] + order:  # one untimed warm-up run each
            generator = backends[name](model, tokenizer.pad_token_id, tokenizer.eos_token_id)
            torch.manual_seed(0)
            start = time.perf_counter()
            out = generator.generate(ids, mask, args.group, params)
            elapsed = time.perf_counter() - start
            if name in tokens:
                seconds[name].append(elapsed)
            ids_out = out.completion_ids
            eos = ids_out == tokenizer.eos_token_id
            lengths = torch.where(eos.any(1), eos.int().argmax(1) + 1, torch.tensor(ids_out.shape[1]))
            drawn = (int(lengths.sum()), ids_out.shape[1])
            assert tokens.setdefault(name, drawn) == drawn  # same seed, same tokens every run
        assert tokens["rlvr"] == tokens["transformers"], tokens  # both drew the same completions
        generated, longest = tokens["rlvr"]
        flops = 2 * n_params * (int(mask.sum()) + generated)
        rows_out = len(ids) * args.group
        entry = {"rows": rows_out, "generated_tokens": generated, "longest": longest, "flop_bound_s": flops / rate,
                 "finished_row_steps_fraction": 1 - generated / (rows_out * longest)}
        for name, times in seconds.items():
            median = statistics.median(times)
            entry[name] = {"seconds_median": median, "seconds": times, "tokens_per_s": generated / median,
                           "flop_fraction": flops / rate / median}
        entry["speedup"] = entry["transformers"]["seconds_median"] / entry["rlvr"]["seconds_median"]
        results[f"batch_{batch}"] = entry
        r, t = entry["rlvr"], entry["transformers"]
        print(f"batch {entry['rows']}: {generated} tokens (longest {longest}, "
              f"{entry['finished_row_steps_fraction']:.0%} of row-steps on finished rows); rlvr {r['tokens_per_s']:.0f} tok/s "
              f"({r['flop_fraction']:.1%} of FLOP bound), transformers {t['tokens_per_s']:.0f} tok/s "
              f"({t['flop_fraction']:.1%}): {entry['speedup']:.2f}x", flush=True)
    print(json.dumps(results, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
