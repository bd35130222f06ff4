"""The loss's log-probabilities at a real vocabulary: fused (rlvr.logprobs) vs the composed autograd ops
rlvr used before (and most trainers use): ``logits / temperature``, a row-wise logsumexp and gather, and a
row-wise softmax for the entropy.

    python scripts/bench_logprobs.py [--rows 32 --length 64 --vocab 49152 --temperature 0.7 --repeat 5]

The defaults are SmolLM2-135M's vocabulary with 4 prompts x 8 completions of 64 tokens. Reports the
median seconds of forward + backward (the logits' gradient is what the lm_head's backward consumes) and
the process's peak resident memory above the logits themselves, each in its own fresh process, so one
variant's allocations cannot flatter the other's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import torch


def composed(logits, ids, temperature):
    """The composed ops (rlvr before fusing): a full (N, T, V) copy for the temperature, row-wise
    logsumexp (autograd keeps its input), a row-wise softmax for the entropy."""
    if temperature != 1.0:
        logits = logits / temperature
    picked = torch.gather(logits, -1, ids.unsqueeze(-1)).squeeze(-1)
    lse = torch.stack([torch.logsumexp(row.float(), dim=-1) for row in logits])
    with torch.no_grad():
        entropy = torch.stack([torch.logsumexp(r.float(), -1) - (torch.softmax(r.float(), -1) * r.float()).sum(-1)
                               for r in logits])
    return picked.float() - lse, entropy


def fused(logits, ids, temperature):
    from rlvr.logprobs import selective_log_softmax

    return selective_log_softmax(logits, ids, temperature, return_entropy=True)


def peak_rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024


def reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:  # Linux: resets VmHWM to the current RSS
        f.write("5")


def measure(variant: str, args) -> dict:
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    fn = {"composed": composed, "fused": fused}[variant]
    ids = torch.randint(0, args.vocab, (args.rows, args.length))
    weights = torch.randn(args.rows, args.length)
    times, peaks = [], []
    for _ in range(args.repeat + 1):  # the first is a warm-up
        logits = torch.randn(args.rows, args.length, args.vocab, requires_grad=True)
        reset_peak()
        base = peak_rss_mb()
        start = time.perf_counter()
        logprobs, _ = fn(logits, ids, args.temperature)
        (logprobs * weights).sum().backward()
        times.append(time.perf_counter() - start)
        peaks.append(peak_rss_mb() - base)
        del logits, logprobs
    return {"seconds_median": statistics.median(times[1:]), "peak_mb_above_logits": statistics.median(peaks[1:])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=32)
    parser.add_argument("--length", type=int, default=64)
    parser.add_argument("--vocab", type=int, default=49152)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--variant", choices=["composed", "fused"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(measure(args.variant, args)))
        return
    logits_mb = args.rows * args.length * args.vocab * 4 / 2**20
    results = {}
    for variant in ("composed", "fused", "fused", "composed"):  # A-B-B-A
        out = subprocess.run([sys.executable, __file__, "--variant", variant, *sys.argv[1:]], check=True,
                             capture_output=True, text=True).stdout
        results.setdefault(variant, []).append(json.loads(out))
    print(f"logits ({args.rows}, {args.length}, {args.vocab}) float32 = {logits_mb:.0f} MB, temperature "
          f"{args.temperature}, {args.threads} threads")
    summary = {v: {k: statistics.mean(r[k] for r in runs) for k in runs[0]} for v, runs in results.items()}
    for variant, r in summary.items():
        print(f"{variant:9s} forward+backward {r['seconds_median'] * 1000:7.0f} ms   peak memory above the logits "
              f"{r['peak_mb_above_logits']:6.0f} MB")
    c, f = summary["composed"], summary["fused"]
    memory = (f"{c['peak_mb_above_logits'] / f['peak_mb_above_logits']:.2f}x less peak memory"
              if f["peak_mb_above_logits"] >= 1 else "peak memory below 1 MB for both")
    print(f"fused: {c['seconds_median'] / f['seconds_median']:.2f}x faster, {memory}")


if __name__ == "__main__":
    main()
