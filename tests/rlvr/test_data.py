import datasets
import pytest

from rlvr.data import DataError, PromptSampler, format_prompt, load_rows, validate_rows
from rlvr.toy import build_tokenizer
from tests.conftest import shared_data


def test_sampler_is_a_seeded_permutation_per_epoch_and_resumes_exactly():
    a = PromptSampler(10, seed=3)
    first = a.take(7) + a.take(7)  # crosses into the second epoch
    assert sorted(first[:10]) == list(range(10)) and len(first) == 14
    state = a.state_dict()
    rest = a.take(9)
    b = PromptSampler(10, seed=3)
    b.load_state_dict(state)
    assert b.take(9) == rest
    assert PromptSampler(10, seed=4).take(10) != PromptSampler(10, seed=3).take(10)


def test_sampler_refuses_a_checkpoint_of_another_dataset():
    state = PromptSampler(10, seed=0).state_dict()
    with pytest.raises(DataError, match="10 rows, this one has 11"):
        PromptSampler(11, seed=0).load_state_dict(state)


def test_format_prompt_wraps_strings_and_prepends_system():
    tok = build_tokenizer()
    assert format_prompt(tok, "2+2=?") == "Q: 2+2=? A:"
    assert format_prompt(tok, "2+2=?", use_chat_template=False) == "2+2=?"
    assert format_prompt(tok, "2+2=?", system_prompt="Be exact.") == "Be exact.\nQ: 2+2=? A:"


def test_load_rows_local_file_and_toy(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"prompt": "1+1=?", "answer": "2"}\n')
    assert load_rows(str(path), "ignored").to_list() == [{"prompt": "1+1=?", "answer": "2"}]
    assert len(load_rows("toy", "test")) == 500
    with pytest.raises(DataError, match="does not exist"):
        load_rows(str(tmp_path / "missing.jsonl"), "train")
    with pytest.raises(DataError, match="splits 'train' and 'test'"):
        load_rows("toy", "validation")


def test_validate_rows_rejects_non_text_prompt():
    rows = datasets.Dataset.from_list([{"prompt": "a", "answer": "1"}, {"prompt": "b", "answer": "2"}])
    validate_rows(rows, "prompt", ["answer"])
    with pytest.raises(DataError, match="no column 'solution'"):
        validate_rows(rows, "prompt", ["solution"])


def test_real_gsm8k_rows_load_and_validate():
    rows = load_rows(str(shared_data("gsm8k_test.jsonl")), "test")
    validate_rows(rows, "question", ["answer"], "gsm8k")
    assert len(rows) == 1319 and "####" in rows[0]["answer"]
