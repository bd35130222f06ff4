import json
import os
import subprocess
import sys

import pytest

from rlvr.evaluate import Task, entry_point, judge_problem, ks, load_task, main, prompt_of

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_ks_doubles_up_to_n():
    assert ks(16) == [1, 2, 4, 8, 16] and ks(6) == [1, 2, 4, 6] and ks(1) == [1]


def test_cli_on_the_toy_task_writes_every_report(tmp_path, toy_dir):
    out = tmp_path / "eval"
    means = main(["--model", toy_dir, "--data", "toy", "--n", "4", "--max_problems", "12", "--output_dir", str(out),
                  "--temperature", "0.7"])
    results = json.load(open(out / "results.json"))
    for key in ("greedy", "pass@1", "pass@4", "maj@4", "weighted_maj@4", "rerank@4", "adaptive/accuracy",
                "adaptive/mean_samples"):
        assert key in results and key in means
    assert results["pass@1"] <= results["pass@2"] <= results["pass@4"]
    assert 2 <= results["adaptive/mean_samples"] <= 4 and results["config"]["num_problems"] == 12
    assert (out / "accuracy_vs_k.png").stat().st_size > 1000
    assert "| 4 |" in (out / "results.md").read_text()
    assert len((out / "samples.jsonl").read_text().splitlines()) == 12


def test_code_tasks_are_judged_in_the_sandbox(clean_after):
    task = Task("code_function", None, None, "problem", "tests")
    row = {"tests": "def check(candidate):\n    assert candidate(nums=[1, 2]) == 3\n\ncheck(Solution().total)"}
    right = "```python\nclass Solution:\n    def total(self, nums: List[int]) -> int:\n        return sum(nums)\n```"
    wrong = "```python\nclass Solution:\n    def total(self, nums):\n        return 0\n```"
    correct, answers = judge_problem(task, row, [right, wrong, right])
    assert correct == [True, False, True] and answers[0] == answers[2] != answers[1]
    assert entry_point(row["tests"]) == "Solution.total"
    stdio = Task("code_stdio", None, None, "problem", "tests")
    correct, answers = judge_problem(stdio, {"tests": [{"input": "2 3", "output": "5"}]},
                                     ["```python\nprint(sum(map(int, input().split())))\n```", "print(6)"])
    assert correct == [True, False] and answers == [("5",), ("6",)]


def test_math_is_judged_under_the_eval_policy_by_default():
    task = Task("math", None, None, "problem", "answer")
    rambling = "Let me think. So $d = 90/n$. Therefore, there are 12 such sequences."
    assert judge_problem(task, {"answer": "12"}, [rambling]) == ([True], ["12"])
    assert judge_problem(task, {"answer": "12"}, [rambling], policy="train") == ([False], [None])


def test_generated_tasks_are_their_held_out_split_prompted_as_is():
    from rlvr.data import GENERATED_DATASETS
    from rlvr.evaluate import TASKS

    assert {n for n, t in TASKS.items() if t.kind == "generated"} == set(GENERATED_DATASETS)  # evaluable by name
    task, rows = load_task("small_sums", None)
    assert task.kind == "generated" and len(rows) == 141
    assert prompt_of(task, rows[0]) == rows[0]["prompt"]  # no math instruction appended
    assert judge_problem(task, rows[0], [f"The answer is {rows[0]['answer']}."])[0] == [True]


def test_unknown_data_and_local_files_fail_clearly(tmp_path):
    with pytest.raises(ValueError, match="unknown data set"):
        load_task("nope", None)
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps({"text": "hi"}) + "\n")
    with pytest.raises(ValueError, match="no prompt column"):
        load_task(str(path), None)
    with pytest.raises(ValueError, match="does not exist"):
        load_task("leetcode", str(tmp_path))
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"problem": "1+1?", "answer": "2"}) + "\n" + json.dumps({"problem": "", "answer": "3"}) + "\n")
    with pytest.raises(ValueError, match="row 1, column 'problem'"):
        main(["--model", "toy", "--data", str(bad), "--output_dir", str(tmp_path / "o")])
    with pytest.raises(Exception, match="empty|no rows"):
        main(["--model", "toy", "--data", str(empty), "--output_dir", str(tmp_path / "o")])


@pytest.mark.slow
def test_data_parallel_under_accelerate_launch(tmp_path, toy_dir):
    out = tmp_path / "dp"
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "rlvr.evaluate",
           "--model", toy_dir, "--data", "toy", "--n", "2", "--max_problems", "10", "--output_dir", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT, env={**os.environ})
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.load(open(out / "results.json"))
    assert results["config"]["processes"] == 2 and results["config"]["num_problems"] == 10
    indices = [json.loads(line)["index"] for line in open(out / "samples.jsonl")]
    assert indices == list(range(10))  # every problem once, merged in order


def test_every_metric_at_k_1_is_the_fraction_of_correct_samples():
    """maj@1, weighted maj@1 and rerank@1 vote over one sample: its correctness, averaged over the n
    samples, which is pass@1. Estimating them from 100 random draws left maj@1 at 22.9% beside pass@1's 22.8%."""
    from rlvr.evaluate import problem_metrics

    n = 7
    record = {"correct": [True, False, False, True, False, False, False], "answers": ["3", "4", "5", "3", "6", None, "4"],
              "mean_logprobs": [-0.1 * i for i in range(n)], "greedy_correct": False}
    metrics = problem_metrics(record, n, lambda a, b: a == b, threshold=0.95, min_samples=2)
    assert metrics["pass@1"] == metrics["sample_accuracy"] == 2 / 7
    for key in ("maj@1", "weighted_maj@1", "rerank@1"):
        assert metrics[key] == metrics["pass@1"], key
    # all C(7, 2) = 21 pairs, exactly: a 1-1 tie goes to the first answer, the two '3's agree, and the one
    # sample without an answer (5) is followed only by a wrong one, so a pair is right when its first is
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    assert metrics["maj@2"] == sum(record["correct"][i] for i, _ in pairs) / len(pairs)
