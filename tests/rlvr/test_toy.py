import json
import os

from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast

from rewards.math import accuracy_reward
from rlvr.data import format_prompt
from rlvr.modeling import TOY_MARKER
from rlvr.toy import NUM_HELD_OUT, arithmetic_splits, build_tokenizer, main


def test_splits_are_deterministic_disjoint_and_checkable():
    train, test = arithmetic_splits(0)
    assert arithmetic_splits(0) == (train, test)
    assert arithmetic_splits(1)[1] != test
    assert len(test) == NUM_HELD_OUT and len(train) + len(test) == 100 * 100
    assert not {r["prompt"][0]["content"] for r in test} & {r["prompt"][0]["content"] for r in train}
    a, b = map(int, test[0]["prompt"][0]["content"].removesuffix("=?").split("+"))
    assert accuracy_reward([f" {a + b}"], answer=[test[0]["answer"]]) == [1.0]


def test_tokenizer_splits_digits_and_templates_chat():
    tok = build_tokenizer()
    assert tok.pad_token_id == 0 and tok.eos_token_id == 1
    assert [t for t in tok.tokenize("123") if t != "Ġ"] == ["1", "2", "3"]
    assert tok.decode(tok("héllo ∑", add_special_tokens=False)["input_ids"]) == "héllo ∑"  # byte fallback
    text = format_prompt(tok, [{"role": "user", "content": "1+2=?"}])
    assert text == "Q: 1+2=? A:"


def test_cli_writes_a_loadable_folder(tmp_path, capsys):
    out = tmp_path / "toy"
    main(["--output_dir", str(out), "--sft_steps", "5"])
    printed = capsys.readouterr().out
    assert "held-out greedy accuracy" in printed
    tok = PreTrainedTokenizerFast.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out)
    assert 0.9e6 < model.num_parameters() < 1.2e6
    assert tok.chat_template and json.load(open(os.path.join(out, TOY_MARKER)))["sft_steps"] == 5
