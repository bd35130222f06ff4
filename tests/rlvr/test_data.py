import re

import datasets
import pytest

from rlvr.config import ConfigError
from rlvr.data import (
    DataError,
    PromptSampler,
    check_reward_columns,
    eval_overlap,
    eval_overlap_warning,
    format_prompt,
    import_reward,
    load_rows,
    required_reward_columns,
    validate_rows,
)
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


# -- what reward functions need from the data ----------------------------------------------------

def _needs_tests(completions, tests, timeout=10, **kwargs):
    return [0.0] * len(completions)


def _declares(completions, **kwargs):
    return [0.0] * len(completions)


_declares.required_columns = ("difficulty", ("answer", "label"))


def test_required_columns_come_from_signatures_attributes_and_the_either_or_table():
    needs = required_reward_columns(["rewards.math:accuracy_reward", "rewards.code:unit_test_reward",
                                     _needs_tests, _declares, len])
    assert needs == {
        "rewards.math:accuracy_reward": [("answer", "solution")],  # answer=None, solution=None: one of them
        "rewards.code:unit_test_reward": [("tests",)],
        "tests.rlvr.test_data:_needs_tests": [("tests",)],  # completions and defaulted parameters are not columns
        "tests.rlvr.test_data:_declares": [("difficulty",), ("answer", "label")],
        "builtins:len": [],  # no readable signature: nothing is required
    }


def test_a_missing_reward_column_names_the_dataset_the_column_the_reward_and_the_fix():
    rows = datasets.Dataset.from_list([{"question": "1+1=?", "gold": "2"}])
    with pytest.raises(DataError) as info:
        check_reward_columns(rows, ["rewards.math:accuracy_reward"], "question", None, "dataset data/x.jsonl")
    assert str(info.value) == (
        "dataset data/x.jsonl has no column 'answer' or 'solution' that rewards.math:accuracy_reward needs; its "
        "columns are ['question', 'gold']: rename the column that holds it to 'answer' (or use a reward that "
        "reads your columns)")
    rows = datasets.Dataset.from_list([{"question": "1+1=?", "answer": "2", "level": 1}])
    with pytest.raises(DataError, match=r"reward_columns \['level'\] leaves out 'answer', which "
                                        "rewards.math:accuracy_reward needs: add it to reward_columns"):
        check_reward_columns(rows, ["rewards.math:accuracy_reward"], "question", ["level"])
    check_reward_columns(rows, ["rewards.math:accuracy_reward"], "question", None)
    check_reward_columns(rows, ["rewards.math:accuracy_reward"], "question", ["answer"])


def test_validate_rows_says_which_option_fixes_a_missing_column():
    rows = datasets.Dataset.from_list([{"question": "a", "answer": "1"}])
    with pytest.raises(DataError, match=r"no column 'prompt'; its columns are \['question', 'answer'\]: set "
                                        "prompt_column"):
        validate_rows(rows, "prompt", ["answer"])
    with pytest.raises(DataError, match="no column 'solution'.*: fix reward_columns"):
        validate_rows(rows, "question", ["solution"])


def test_eval_overlap_counts_evaluation_prompts_seen_in_training():
    chat = [{"role": "user", "content": "2+2=?"}]
    train = datasets.Dataset.from_list([{"prompt": "1+1=?"}, {"prompt": "2+2=? "}, {"prompt": "3+3=?"}])
    held_out = [{"prompt": "5+5=?"}, {"prompt": "6+6=?"}]
    assert eval_overlap(train, [{"prompt": " 1+1=?"}, {"prompt": "2+2=?"}, *held_out], "prompt") == 2
    assert eval_overlap(train, held_out, "prompt") == 0
    assert eval_overlap(datasets.Dataset.from_list([{"prompt": chat}]), [{"prompt": chat}], "prompt") == 1
    assert eval_overlap_warning(train, held_out, "prompt") is None
    assert eval_overlap_warning(train, [{"prompt": "1+1=?"}, *held_out], "prompt") == (
        "1 of 3 evaluation prompts are also training prompts: held-out accuracy is not held out; set "
        "eval_dataset to data the model does not train on")


@pytest.mark.parametrize("name, sizes", [("toy", (9500, 500)), ("small_sums", (300, 141))])
def test_generated_splits_do_not_overlap_and_depend_only_on_the_seed(name, sizes):
    train, test = load_rows(name, "train"), load_rows(name, "test")
    assert (len(train), len(test)) == sizes
    assert eval_overlap(train, test.to_list(), "prompt") == 0
    assert load_rows(name, "test").to_list() == test.to_list() != load_rows(name, "test", seed=1).to_list()
    for row in test.to_list()[:20]:  # the answer is the sum the prompt asks for
        a, b = map(int, re.findall(r"\d+", row["prompt"][0]["content"]))
        assert row["answer"] == str(a + b)
    with pytest.raises(DataError, match=f"the {name} dataset has splits 'train' and 'test'"):
        load_rows(name, "validation")


def test_small_sums_asks_as_a_person_would():
    row = load_rows("small_sums", "test")[0]
    assert re.fullmatch(r"What is \d{1,2} \+ \d{1,2}\?", row["prompt"][0]["content"])


def test_import_reward_says_where_modules_are_imported_from(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"no module named 'nowhere_rewards' on the import path: python -m "
                                          r"rlvr.train imports from the current directory \(.*\) and PYTHONPATH; "
                                          "run it from the folder that holds nowhere_rewards.py"):
        import_reward("nowhere_rewards:format_reward")
    with pytest.raises(ConfigError, match="has no function 'accuracy_rewrd'; did you mean "
                                          "'rewards.math:accuracy_reward'"):
        import_reward("rewards.math:accuracy_rewrd")
    (tmp_path / "broken_rewards.py").write_text("import not_installed_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError, match="importing broken_rewards failed: No module named 'not_installed_anywhere'"):
        import_reward("broken_rewards:f")
    assert import_reward("rewards.math:accuracy_reward").__name__ == "accuracy_reward"


def test_a_local_file_of_another_format_is_refused(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("prompt,answer\n1+1=?,2\n")
    with pytest.raises(DataError, match="local files must be .json, .jsonl, .parquet"):
        load_rows(str(path), "train")
