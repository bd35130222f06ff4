"""Sampled evaluation with test-time scaling: pass@k, maj@k, weighted and reranked accuracy, adaptive sampling.

    python -m rlvr.evaluate --model M --data {toy|small_sums|gsm8k|math500|aime|amc|leetcode|codeforces|path.jsonl} \\
        --n 16 --output_dir T
    accelerate launch --num_processes 8 -m rlvr.evaluate ...   # problems split across processes

For every problem: one greedy completion and ``n`` samples (with sequence log-probabilities), each
scored by the task's verifier. Reported for k = 1, 2, 4, ..., n, each with a 95% bootstrap interval
over problems:

* ``pass@k``: unbiased estimator (Chen et al. 2021);
* ``maj@k``: majority vote of k samples, answers clustered by ``rewards.math.is_equivalent`` (math) or by
  behaviour on the tests' inputs (code: CodeT-style execution consensus, expected outputs unused);
* ``weighted_maj@k``: the vote weighted by each sample's length-normalised probability exp(mean logprob);
* ``rerank@k``: best of k by a scorer: mean logprob, or ``--reward_model`` (a sequence-classification RM);
* ``adaptive/accuracy`` and ``adaptive/mean_samples``: Adaptive-Consistency (Aggarwal et al. 2023) replayed
  over the samples in order, one at a time, stopping when P(leader beats runner-up) >= ``--adaptive_threshold``.

Writes ``results.json``, ``results.md``, ``accuracy_vs_k.png`` and ``samples.jsonl`` to ``--output_dir``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass

DATA_DIR = "data"  # where named benchmarks are looked for as local files first (--data_dir, RLVR_DATA_DIR)
MATH_INSTRUCTION = "\nPlease reason step by step, and put your final answer within \\boxed{}."
CODE_INSTRUCTION = "\n\nWrite a complete Python 3 solution in a single ```python code block."


@dataclass(frozen=True)
class Task:
    kind: str                 # math | code_function | code_stdio | generated (rlvr.data.GENERATED_DATASETS)
    file: str | None          # file name in the local data folder
    hub: tuple | None         # (path, config, split) on the Hugging Face Hub
    prompt: str               # prompt column
    reference: str            # answer / tests column


TASKS = {
    "toy": Task("generated", None, None, "prompt", "answer"),
    "small_sums": Task("generated", None, None, "prompt", "answer"),
    "gsm8k": Task("math", "gsm8k_test.jsonl", ("openai/gsm8k", "main", "test"), "question", "answer"),
    "math500": Task("math", "math500_test.jsonl", ("HuggingFaceH4/MATH-500", None, "test"), "problem", "answer"),
    "aime": Task("math", "aime2024_test.jsonl", ("HuggingFaceH4/aime_2024", None, "train"), "problem", "answer"),
    "amc": Task("math", "amc2023_test.jsonl", ("AI-MO/aimo-validation-amc", None, "train"), "problem", "answer"),
    "leetcode": Task("code_function", "leetcode_test.jsonl", None, "problem", "tests"),
    "codeforces": Task("code_stdio", "codeforces_test.jsonl", None, "problem", "tests"),
}


DEFAULT_MAX_NEW_TOKENS = {"toy": 8, "small_sums": 32}


def ks(n: int) -> list[int]:
    """1, 2, 4, ..., n (n included)."""
    out, k = [], 1
    while k < n:
        out.append(k)
        k *= 2
    return out + [n]


def load_task(name: str, data_dir: str | None, seed: int = 0) -> tuple[Task, list[dict]]:
    """The task and its rows: a generated test split (toy, small_sums), a local file (in ``data_dir``, default ``$RLVR_DATA_DIR``
    or ``./data``), or the Hub (all through ``rlvr.data.load_rows``, the trainer's loader)."""
    from rlvr.data import LOCAL_FORMATS, load_rows

    if name in TASKS and TASKS[name].kind == "generated":
        return TASKS[name], load_rows(name, "test", seed=seed).to_list()
    if os.path.splitext(name)[1].lower() in LOCAL_FORMATS:
        rows = load_rows(name, "train").to_list()
        if not rows:
            raise ValueError(f"{name} has no rows to evaluate")
        first = rows[0]
        prompt = next((c for c in ("prompt", "problem", "question") if c in first), None)
        if prompt is None:
            raise ValueError(f"{name}: no prompt column (prompt, problem or question); columns: {sorted(first)}")
        if "answer" in first:
            return Task("math", None, None, prompt, "answer"), rows
        if "tests" in first:
            kind = "code_stdio" if isinstance(first["tests"], list) else "code_function"
            return Task(kind, None, None, prompt, "tests"), rows
        raise ValueError(f"{name}: no reference column (answer or tests); columns: {sorted(first)}")
    if name not in TASKS:
        raise ValueError(f"unknown data set {name!r}: use one of {sorted(TASKS)} or a .jsonl path")
    task = TASKS[name]
    path = os.path.join(data_dir or os.environ.get("RLVR_DATA_DIR") or DATA_DIR, task.file)
    if os.path.exists(path):
        return task, load_rows(path, "train").to_list()
    if task.hub is None:
        raise ValueError(f"{name} is read from a local file: {path} does not exist (pass --data_dir, or a .jsonl path)")
    hub_path, config, split = task.hub
    return task, load_rows(hub_path, split, config).to_list()


def check_rows(task: Task, rows: list[dict], name: str) -> None:
    """Stop before any sampling on data that cannot be evaluated, naming the row and column."""
    if not rows:
        raise ValueError(f"{name} has no rows to evaluate")
    for i, row in enumerate(rows):
        for column in (task.prompt, task.reference):
            value = row.get(column)
            if value is None or (isinstance(value, (str, list, dict)) and len(value) == 0):
                raise ValueError(f"{name} row {i}, column {column!r}: the value is missing or empty")


def prompt_of(task: Task, row: dict):
    if task.kind == "generated":  # phrased for its model already: no instruction appended
        return row[task.prompt]
    instruction = MATH_INSTRUCTION if task.kind == "math" else CODE_INSTRUCTION
    return [{"role": "user", "content": str(row[task.prompt]) + instruction}]


def function_tests(row: dict, task: Task) -> str:
    tests = row[task.reference]
    return tests["functional"] if isinstance(tests, dict) else tests


def entry_point(tests: str) -> str | None:
    """``check(Solution().twoSum)`` -> ``Solution.twoSum``; ``check(add)`` -> ``add``."""
    import ast

    for node in reversed(ast.parse(tests).body):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and node.value.args:
            target = node.value.args[0]
            if isinstance(target, ast.Name):
                return target.id
            if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Call) and \
                    isinstance(target.value.func, ast.Name):
                return f"{target.value.func.id}.{target.attr}"
    return None


def judge_problem(task: Task, row: dict, completions: list[str], policy: str = "eval") -> tuple[list[bool], list]:
    """(correct, answer) for each completion; answers are what votes cluster (None: no answer). Math is
    judged under the verifier's ``"eval"`` policy by default, as benchmarks score (docs/rewards.md)."""
    if task.kind in ("generated", "math"):
        from rewards.math import extract_answer, verify

        gold = row[task.reference]
        return ([verify(c, gold, policy=policy) for c in completions],
                [extract_answer(c, policy=policy) for c in completions])
    from rewards.code import LEETCODE_PRELUDE, extract_code, unit_test_reward
    from rewards.code.consensus import call_inputs, function_signature, stdio_signature

    programs = [extract_code(c) for c in completions]
    if task.kind == "code_stdio":
        cases = row[task.reference]
        correct = [s == 1.0 for s in unit_test_reward(completions, [cases] * len(completions), timeout=5)]
        inputs = [c["input"] for c in cases]
        return correct, [stdio_signature(p, inputs) for p in programs]
    tests = function_tests(row, task)
    scores = unit_test_reward(completions, [tests] * len(completions), timeout=5, prelude=LEETCODE_PRELUDE)
    correct = [s == 1.0 for s in scores]
    entry, inputs = entry_point(tests), call_inputs(tests)
    answers = [function_signature(p, entry, inputs, prelude=LEETCODE_PRELUDE) if entry else None for p in programs]
    return correct, answers


def equivalence(task: Task) -> Callable:
    if task.kind in ("generated", "math"):
        from rewards.math import is_equivalent

        return is_equivalent
    return lambda a, b: a == b


def cluster_ids(answers: list, equivalent: Callable) -> list:
    """Each answer's cluster number (the first equivalent answer's position); None stays None."""
    reps: list[tuple[int, object]] = []
    out = []
    for a in answers:
        if a is None:
            out.append(None)
            continue
        home = next((i for i, r in reps if equivalent(a, r)), None)
        if home is None:
            home = len(reps)
            reps.append((home, a))
        out.append(f"c{home}")
    return out


def problem_metrics(record: dict, n: int, equivalent: Callable, threshold: float, min_samples: int) -> dict:
    """Every metric of one problem from its n judged samples."""
    from rlvr.metrics import maj_at_k, pass_at_k, rerank_at_k
    from rlvr.testtime import adaptive_vote

    correct = record["correct"]
    answers = cluster_ids(record["answers"], equivalent)  # cluster once; subset votes then compare ids
    weights = [math.exp(lp) for lp in record["mean_logprobs"]]
    scores = record.get("rm_scores") or record["mean_logprobs"]
    out = {"greedy": float(record["greedy_correct"]), "sample_accuracy": sum(correct) / n}
    for k in ks(n):
        out[f"pass@{k}"] = pass_at_k(n, sum(correct), k)
        out[f"maj@{k}"] = maj_at_k(answers, correct, k)
        out[f"weighted_maj@{k}"] = maj_at_k(answers, correct, k, weights=weights)
        out[f"rerank@{k}"] = rerank_at_k(scores, correct, k)
    vote, used = adaptive_vote(answers, threshold=threshold, min_samples=min_samples)
    won = vote.answer is not None and any(ok for a, ok in zip(answers, correct) if a is not None and vote.same(a, vote.answer))
    out["adaptive/accuracy"], out["adaptive/mean_samples"] = float(won), float(used)
    return out


def summarize(per_problem: list[dict]) -> tuple[dict, dict]:
    from rlvr.metrics import bootstrap_ci

    keys = list(per_problem[0])
    means = {k: sum(p[k] for p in per_problem) / len(per_problem) for k in keys}
    cis = {k: bootstrap_ci([p[k] for p in per_problem]) for k in keys if k != "adaptive/mean_samples"}
    return means, cis


def write_report(output_dir: str, means: dict, cis: dict, n: int, config: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = {**means, "ci95": {k: list(v) for k, v in cis.items()}, "config": config}
    with open(os.path.join(output_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
    lines = [f"# {config['data']} — {config['model']}", "",
             f"{config['num_problems']} problems, n = {n} samples each (temperature {config['temperature']}); "
             "95% bootstrap intervals over problems.", "",
             f"greedy: {means['greedy']:.1%} · mean sample accuracy: {means['sample_accuracy']:.1%} · "
             f"adaptive: {means['adaptive/accuracy']:.1%} with {means['adaptive/mean_samples']:.2f} samples on average",
             "", "| k | pass@k | maj@k | weighted maj@k | rerank@k |", "|---|---|---|---|---|"]
    for k in ks(n):
        cells = [f"{means[f'{m}@{k}']:.1%} [{cis[f'{m}@{k}'][0]:.1%}, {cis[f'{m}@{k}'][1]:.1%}]"
                 for m in ("pass", "maj", "weighted_maj", "rerank")]
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    with open(os.path.join(output_dir, "results.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    fig, ax = plt.subplots(figsize=(6, 4))
    for metric in ("pass", "maj", "weighted_maj", "rerank"):
        ys = [means[f"{metric}@{k}"] for k in ks(n)]
        lo = [cis[f"{metric}@{k}"][0] for k in ks(n)]
        hi = [cis[f"{metric}@{k}"][1] for k in ks(n)]
        ax.plot(ks(n), ys, marker="o", label=f"{metric}@k")
        ax.fill_between(ks(n), lo, hi, alpha=0.15)
    ax.axhline(means["greedy"], color="gray", linestyle="--", label="greedy")
    ax.scatter([means["adaptive/mean_samples"]], [means["adaptive/accuracy"]], marker="*", s=150, color="black",
               label="adaptive", zorder=5)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("k (samples)")
    ax.set_ylabel("accuracy")
    ax.set_title(f"{config['data']}: accuracy vs k")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(output_dir, "accuracy_vs_k.png"), dpi=120)
    plt.close(fig)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="a model folder or Hub name; 'toy' and 'smollm2' need no network")
    parser.add_argument("--data", required=True, help=f"one of {sorted(TASKS)} or a .jsonl path")
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--n", type=int, default=16, help="samples per problem")
    parser.add_argument("--max_problems", type=int, default=None)
    parser.add_argument("--data_dir", default=None,
                        help="folder of local benchmark files, read before the Hub (default: $RLVR_DATA_DIR or ./data)")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--top_p", type=float, default=1.0)
    parser.add_argument("--top_k", type=int, default=0)
    parser.add_argument("--max_new_tokens", type=int, default=None, help="default: 8 for toy, 32 for small_sums, "
                        "1024 otherwise")
    parser.add_argument("--batch_size", type=int, default=64, help="sequences generated at once")
    parser.add_argument("--reward_model", default=None, help="a sequence-classification reward model for rerank@k")
    parser.add_argument("--adaptive_threshold", type=float, default=0.95)
    parser.add_argument("--adaptive_min_samples", type=int, default=2)
    parser.add_argument("--toy_sft_steps", type=int, default=500, help="warm-start steps when --model toy")
    parser.add_argument("--answer_policy", default="eval", choices=["eval", "train"],
                        help="math verifier policy: 'eval' also reads a last number as benchmarks do; "
                             "'train' scores as the training reward (docs/rewards.md)")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("--n must be >= 1")
    return args


def main(argv=None) -> dict | None:
    args = parse_args(argv)
    import torch
    from accelerate import PartialState
    from accelerate.utils import gather_object
    from tqdm import tqdm

    from rlvr.hub import check_model_source
    from rlvr.inference import RewardModelScorer, sample
    from rlvr.modeling import load_causal_lm, load_tokenizer, resolve_model_path

    # On CPU each launched process must be told so, or it believes it is alone (no process group).
    state = PartialState(cpu=not torch.cuda.is_available())
    torch.manual_seed(args.seed + state.process_index)
    task, rows = load_task(args.data, args.data_dir, args.seed)
    rows = rows[: args.max_problems] if args.max_problems else rows
    check_rows(task, rows, args.data)
    check_model_source(args.model)  # an unreachable Hub fails here in seconds, with what to do instead
    model_path = resolve_model_path(args.model, args.toy_sft_steps, args.seed)  # 'toy', 'smollm2': offline
    tokenizer = load_tokenizer(model_path)
    model = load_causal_lm(model_path, args.dtype).to(state.device)
    model.eval()
    scorer = RewardModelScorer(args.reward_model, device=state.device) if args.reward_model else None
    max_new = args.max_new_tokens or DEFAULT_MAX_NEW_TOKENS.get(args.data, 1024)
    kwargs = dict(max_new_tokens=max_new, batch_size=args.batch_size)
    indices = list(range(len(rows)))
    records = []
    with state.split_between_processes(indices) as mine:
        chunk = max(1, args.batch_size // args.n)
        for start in tqdm(range(0, len(mine), chunk), disable=not state.is_main_process, desc="evaluating"):
            batch = mine[start:start + chunk]
            prompts = [prompt_of(task, rows[i]) for i in batch]
            greedy = sample(model, tokenizer, prompts, 1, temperature=0, **kwargs)
            sampled = sample(model, tokenizer, prompts, args.n, temperature=args.temperature, top_p=args.top_p,
                             top_k=args.top_k, **kwargs)
            for i, prompt, g, samples in zip(batch, prompts, greedy, sampled):
                texts = [s.text for s in samples]
                correct, answers = judge_problem(task, rows[i], texts, args.answer_policy)
                greedy_ok = judge_problem(task, rows[i], [g[0].text], args.answer_policy)[0][0]
                records.append({
                    "index": i, "greedy": g[0].text, "greedy_correct": bool(greedy_ok), "completions": texts,
                    "correct": [bool(c) for c in correct], "answers": [a if a is None or isinstance(a, str) else list(a)
                                                                        for a in answers],
                    "mean_logprobs": [s.mean_logprob for s in samples],
                    "rm_scores": scorer(prompt, texts) if scorer else None,
                })
    records = gather_object(records)
    means = report(args, task, records, model_path, state.num_processes) if state.is_main_process else None
    # Every process waits for the report, then leaves the process group together: a gloo process that
    # exits while its peers still hold the group can abort at interpreter shutdown.
    state.wait_for_everyone()
    state.destroy_process_group()
    return means


def report(args, task: Task, records: list[dict], model_path: str, processes: int) -> dict:
    """Metrics, intervals and the report files from every process's judged samples (main process)."""
    records.sort(key=lambda r: r["index"])
    os.makedirs(args.output_dir, exist_ok=True)
    with open(os.path.join(args.output_dir, "samples.jsonl"), "w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    equivalent = equivalence(task)
    for r in records:  # signatures travel as lists; votes need hashable, comparable answers
        r["answers"] = [tuple(a) if isinstance(a, list) else a for a in r["answers"]]
    per_problem = [problem_metrics(r, args.n, equivalent, args.adaptive_threshold, args.adaptive_min_samples)
                   for r in records]
    means, cis = summarize(per_problem)
    config = {**vars(args), "model_path": model_path, "num_problems": len(records), "processes": processes,
              "kind": task.kind}
    write_report(args.output_dir, means, cis, args.n, config)
    print(open(os.path.join(args.output_dir, "results.md")).read())
    return means


if __name__ == "__main__":
    main()
