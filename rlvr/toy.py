"""The offline default: a tiny tokenizer and Qwen2 model, an arithmetic task, a supervised warm start.

    python -m rlvr.toy --output_dir D [--sft_steps N]

writes a folder loadable with ``PreTrainedTokenizerFast.from_pretrained(D)`` and
``AutoModelForCausalLM.from_pretrained(D)`` and prints its held-out greedy accuracy. Recipes say
``model_name_or_path: toy`` to build it once into the cache (``$RLVR_CACHE``, default
``~/.cache/rlvr``) and reuse it.

The task: ``a+b=?`` with a, b in 0..99 (10,000 problems); a seeded shuffle puts 500 in the held-out
``test`` split and the rest in ``train``. Rows are ``{"prompt": [{"role": "user", "content":
"12+7=?"}], "answer": "19"}``, checked by ``rewards.math.accuracy_reward``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import tempfile
import time

import torch

from rlvr.modeling import TOY_MARKER

NUM_HELD_OUT = 500
MAX_OPERAND = 99
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ message['content'] }}\n"
    "{% elif message['role'] == 'user' %}Q: {{ message['content'] }}"
    "{% elif message['role'] == 'assistant' %} A: {{ message['content'] }}<eos>"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %} A:{% endif %}"
)
# name -> Qwen2 shape. "tiny" (~1.0M parameters) learns the task in seconds on a CPU; "20m" is
# the larger benchmark configuration.
SIZES = {
    "tiny": dict(hidden_size=128, intermediate_size=512, num_hidden_layers=4, num_attention_heads=4,
                 num_key_value_heads=2),
    "20m": dict(hidden_size=512, intermediate_size=2048, num_hidden_layers=5, num_attention_heads=8,
                num_key_value_heads=4),
}


def arithmetic_splits(seed: int = 0, max_operand: int = MAX_OPERAND, template: str = "{a}+{b}=?",
                      num_held_out: int = NUM_HELD_OUT) -> tuple[list[dict], list[dict]]:
    """(train, test) rows of the a+b task over a, b in 0..max_operand; the split depends only on
    ``seed``, and no (a, b) pair of the test split is in the train split."""
    pairs = [(a, b) for a in range(max_operand + 1) for b in range(max_operand + 1)]
    random.Random(seed).shuffle(pairs)
    rows = [{"prompt": [{"role": "user", "content": template.format(a=a, b=b)}], "answer": str(a + b)}
            for a, b in pairs]
    return rows[num_held_out:], rows[:num_held_out]


def build_tokenizer(seed: int = 0):
    """A byte-level BPE with one token per digit, ``<pad>``=0, ``<eos>``=1, ``<unk>``, and a chat
    template (user -> ``Q: ...``, generation prompt -> `` A:``)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    rng = random.Random(seed)
    lines = [f"Q: {a}+{b}=? A: {a + b}" for a, b in
             ((rng.randint(0, MAX_OPERAND), rng.randint(0, MAX_OPERAND)) for _ in range(20_000))]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<pad>", "<eos>", "<unk>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(lines, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>",
                                   unk_token="<unk>", padding_side="left", chat_template=CHAT_TEMPLATE)


def build_model(tokenizer, size: str = "tiny", seed: int = 0):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    config = Qwen2Config(vocab_size=len(tokenizer), max_position_embeddings=2048, tie_word_embeddings=True,
                         pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                         bos_token_id=tokenizer.eos_token_id, **SIZES[size])
    return Qwen2ForCausalLM(config)


def _sft_tensors(tokenizer, rows):
    """Right-padded prompt+answer ids and a mask of the answer tokens (the loss sees only those)."""
    from rlvr.data import format_prompt

    prompts = [format_prompt(tokenizer, r["prompt"]) for r in rows]
    answers = [f" {r['answer']}{tokenizer.eos_token}" for r in rows]
    p_ids = tokenizer(prompts, add_special_tokens=False)["input_ids"]
    a_ids = tokenizer(answers, add_special_tokens=False)["input_ids"]
    width = max(len(p) + len(a) for p, a in zip(p_ids, a_ids))
    ids = torch.full((len(rows), width), tokenizer.pad_token_id)
    loss_mask = torch.zeros((len(rows), width), dtype=torch.bool)
    attention = torch.zeros((len(rows), width), dtype=torch.long)
    for i, (p, a) in enumerate(zip(p_ids, a_ids)):
        ids[i, : len(p) + len(a)] = torch.tensor(p + a)
        loss_mask[i, len(p) : len(p) + len(a)] = True
        attention[i, : len(p) + len(a)] = 1
    return ids, attention, loss_mask


def warm_start(model, tokenizer, rows, steps: int, seed: int = 0, batch_size: int = 64, lr: float = 1e-3):
    """Supervised fine-tuning on answer tokens (a plain AdamW loop), so RL starts with signal."""
    if steps <= 0:
        return
    ids, attention, loss_mask = _sft_tensors(tokenizer, rows)
    g = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        idx = torch.randint(len(rows), (batch_size,), generator=g)
        logits = model(input_ids=ids[idx], attention_mask=attention[idx]).logits[:, :-1]
        target, mask = ids[idx][:, 1:], loss_mask[idx][:, 1:]
        loss = torch.nn.functional.cross_entropy(logits[mask], target[mask])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    model.eval()


def held_out_accuracy(model, tokenizer, seed: int = 0) -> float:
    from rewards.math import accuracy_reward
    from rlvr.data import format_prompt
    from rlvr.evaluation import greedy_accuracy
    from rlvr.rollout import KVCacheSampler

    _, test = arithmetic_splits(seed)
    generator = KVCacheSampler(model, tokenizer.pad_token_id, tokenizer.eos_token_id)
    texts = [format_prompt(tokenizer, r["prompt"]) for r in test]
    accuracy, _ = greedy_accuracy(generator, tokenizer, texts, test, accuracy_reward, max_new_tokens=8,
                                  device="cpu")
    return accuracy


def build_toy(output_dir: str, sft_steps: int = 500, seed: int = 0, size: str = "tiny") -> dict:
    """Build, warm-start and save the toy model; returns its info (also saved as rlvr_toy.json).

    Written to a temporary sibling folder and renamed, so a crash never leaves a half-built cache.
    """
    start = time.perf_counter()
    tokenizer = build_tokenizer(seed)
    model = build_model(tokenizer, size, seed)
    train, _ = arithmetic_splits(seed)
    warm_start(model, tokenizer, train, sft_steps, seed)
    accuracy = held_out_accuracy(model, tokenizer, seed)
    info = {"size": size, "sft_steps": sft_steps, "seed": seed, "parameters": model.num_parameters(),
            "vocab_size": len(tokenizer), "held_out_accuracy": accuracy,
            "build_seconds": round(time.perf_counter() - start, 1)}
    save_model_folder(output_dir, model, tokenizer, TOY_MARKER, info)
    return info


def save_model_folder(output_dir: str, model, tokenizer, marker: str, info: dict) -> None:
    """Model, tokenizer and a marker file (written last) into ``output_dir``, through a temporary
    sibling folder renamed at the end, so a crash never leaves a half-written cache."""
    parent = os.path.dirname(os.path.abspath(output_dir))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".rlvr-", dir=parent)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    with open(os.path.join(tmp, marker), "w") as f:
        json.dump(info, f, indent=2)
    if os.path.exists(output_dir):
        shutil.rmtree(output_dir)
    try:
        os.replace(tmp, output_dir)
    except OSError:  # another process finished the same build first: keep its copy
        shutil.rmtree(tmp, ignore_errors=True)
        if not os.path.exists(os.path.join(output_dir, marker)):
            raise


def cache_dir() -> str:
    return os.environ.get("RLVR_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "rlvr"))


def ensure_toy(sft_steps: int = 500, seed: int = 0, size: str = "tiny") -> str:
    """The cached toy model folder for these settings, built on first use."""
    path = os.path.join(cache_dir(), f"toy-{size}-sft{sft_steps}-seed{seed}")
    if not os.path.exists(os.path.join(path, TOY_MARKER)):
        build_toy(path, sft_steps, seed, size)
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--sft_steps", type=int, default=500, help="supervised warm-start steps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", choices=sorted(SIZES), default="tiny")
    args = parser.parse_args(argv)
    info = build_toy(args.output_dir, args.sft_steps, args.seed, args.size)
    print(f"toy model ({info['parameters']:,} parameters, {info['sft_steps']} warm-start steps) "
          f"-> {args.output_dir} in {info['build_seconds']} s")
    print(f"held-out greedy accuracy: {info['held_out_accuracy']:.1%} on {NUM_HELD_OUT} a+b problems")


if __name__ == "__main__":
    main()
