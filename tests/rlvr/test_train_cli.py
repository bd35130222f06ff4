"""`python -m rlvr.train` as a user runs it, in a real subprocess: a mistake in the config, the data, a
reward's import path or the model's source ends in one line on stderr that says what to fix, exit status
2, before any model loads; Ctrl-C names the last checkpoint and the command that resumes (status 130)."""

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time

import pytest

from rlvr.config import parse_config
from tests.conftest import TEST_SFT_STEPS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUICK = ["--toy_sft_steps", str(TEST_SFT_STEPS), "--report_to", "none", "--disable_progress_bar", "true"]


def env(**extra) -> dict:
    return {**os.environ, "PYTHONPATH": ROOT, "OMP_NUM_THREADS": "1", **extra}


def train(args: list[str], cwd=ROOT, **extra_env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rlvr.train", *args], capture_output=True, text=True, cwd=cwd,
                          env=env(**extra_env), timeout=300)


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    """The run failed with status 2 and said why in exactly one stderr line (no traceback)."""
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, (proc.returncode, proc.stderr[-3000:])
    assert lines[0].startswith("rlvr: error: ")
    return lines[0].removeprefix("rlvr: error: ")


def write_jsonl(path, rows) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


@pytest.mark.parametrize("recipe, args, message", [
    ("learnig_rate: 1.0e-4\n", [], "unknown option 'learnig_rate' in {recipe}; did you mean 'learning_rate'?"),
    ("", ["--learning_rate", "-1e-4"], "learning_rate must be > 0, got -0.0001"),
    ("", ["--kl_coef", "0.05", "--kl_estimator", "k1"], "kl_coef > 0 with kl_estimator k1 in the loss has zero "
                                                        "expected gradient"),
], ids=["typo", "negative_lr", "k1_in_loss"])
def test_config_mistakes(tmp_path, recipe, args, message):
    path = tmp_path / "recipe.yaml"
    path.write_text("max_steps: 2\n" + recipe)
    assert one_error_line(train(["--config", str(path), *args])).startswith(message.format(recipe=path))


def test_a_missing_reward_column_fails_before_the_model_loads(tmp_path):
    data = write_jsonl(tmp_path / "x.jsonl", [{"question": "1+1=?", "gold": "2"}] * 4)
    # a model that could not be loaded: the data is checked first
    line = one_error_line(train(["--dataset", data, "--prompt_column", "question", "--model_name_or_path",
                                 "org/not-loaded"], HF_HUB_OFFLINE="1"))
    assert line == (f"dataset {data} has no column 'answer' or 'solution' that rewards.math:accuracy_reward needs; "
                    "its columns are ['question', 'gold']: rename the column that holds it to 'answer' (or use a "
                    "reward that reads your columns)")


def test_a_reward_module_that_cannot_be_imported_says_where_modules_come_from(tmp_path):
    line = one_error_line(train(["--reward_funcs", "my_rewards:format_reward", *QUICK], cwd=tmp_path))
    assert line.startswith("cannot import reward function 'my_rewards:format_reward': no module named 'my_rewards' "
                           f"on the import path: python -m rlvr.train imports from the current directory ({tmp_path})")


def test_an_unreachable_hub_fails_in_seconds_with_the_offline_fixes(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{s.getsockname()[1]}"  # closed once the socket is
    start = time.monotonic()
    proc = train(["--model_name_or_path", "org/some-model", *QUICK], HF_ENDPOINT=endpoint,
                 HF_HOME=str(tmp_path / "hf"), HF_HUB_OFFLINE="0", HF_HUB_CACHE=str(tmp_path / "hf" / "hub"))
    line = one_error_line(proc)
    assert line.startswith(f"model 'org/some-model' is neither local nor in the Hugging Face cache, and the Hub "
                           f"({endpoint}) is unreachable")
    assert "'toy' or 'smollm2'" in line and "HF_HUB_OFFLINE=1" in line
    assert time.monotonic() - start < 60  # imports included; the libraries' own retries alone took ~30-60 s


def _run_until(args: list[str], ready, cwd, timeout: float = 300) -> subprocess.Popen:
    """Start a training run (output in cwd/stdout.txt and cwd/stderr.txt) and return once ``ready()``
    holds, the run still going."""
    with open(cwd / "stdout.txt", "w") as out, open(cwd / "stderr.txt", "w") as err:
        # SIGINT at its default, as in a terminal: a shell starts background jobs with it ignored
        proc = subprocess.Popen([sys.executable, "-m", "rlvr.train", *args], stdout=out, stderr=err, cwd=cwd,
                                env=env(), preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, (cwd / "stderr.txt").read_text()[-3000:]
        assert time.monotonic() < deadline, "the run never got there"
        time.sleep(0.2)
    return proc


def _interrupt(proc: subprocess.Popen, cwd) -> str:
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=120)
    stderr = (cwd / "stderr.txt").read_text()
    assert proc.returncode == 130, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    return stderr


@pytest.mark.slow
def test_ctrl_c_names_the_last_checkpoint_and_the_resume_command(tmp_path, toy_dir):
    out = tmp_path / "run"
    args = ["--config", os.path.join(ROOT, "recipes", "toy", "grpo_arithmetic.yaml"), "--output_dir", str(out),
            "--max_steps", "1000", "--save_steps", "1", "--num_eval_samples", "0", *QUICK]
    proc = _run_until(args, lambda: (out / "checkpoint-1" / "trainer_state.json").exists(), tmp_path)
    stderr = _interrupt(proc, tmp_path)
    checkpoints = sorted(int(p.name.split("-")[1]) for p in out.glob("checkpoint-*")
                         if (p / "trainer_state.json").exists())
    assert f"Last complete checkpoint: {out}/checkpoint-{checkpoints[-1]}. Resume with:" in stderr
    command = shlex.split(stderr.strip().splitlines()[-1])
    assert command[:3] == ["python", "-m", "rlvr.train"] and command[3:] == [*args, "--resume_from_checkpoint", "latest"]
    assert parse_config(None, command[3:]).resume_from_checkpoint == "latest"


@pytest.mark.slow
def test_ctrl_c_without_a_checkpoint_says_how_to_get_one_and_evaluation_rows_from_training_are_flagged(
        tmp_path, toy_dir):
    data = write_jsonl(tmp_path / "data.jsonl", [{"prompt": f"{a}+{a}=?", "answer": str(2 * a)} for a in range(40)])
    stdout = tmp_path / "stdout.txt"
    args = ["--dataset", data, "--num_eval_samples", "8", "--max_new_tokens", "4", "--max_steps", "1000",
            "--output_dir", str(tmp_path / "run"), *QUICK]  # no eval_dataset: the training file is evaluated
    proc = _run_until(args, lambda: stdout.exists() and "[rlvr] config:" in stdout.read_text(), tmp_path)
    stderr = _interrupt(proc, tmp_path)
    assert ("[rlvr] warning: 8 of 8 evaluation prompts are also training prompts: held-out accuracy is not held "
            "out; set eval_dataset") in stdout.read_text()
    assert f"No complete checkpoint in {tmp_path / 'run'} (save_steps is 0" in stderr
    assert "set --save_steps N" in stderr
