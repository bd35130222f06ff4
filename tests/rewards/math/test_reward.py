import pickle

import pytest

from rewards.math import accuracy_reward, extract_answer, is_equivalent, parse_number, verify


@pytest.mark.parametrize("completion, expected", [
    (" 19", "19"),
    ("Step 1: 3+4=7.\nThe answer is 7.", "7"),
    ("Answer: 1,234", "1,234"),
    (r"so \boxed{\frac{1}{2}} is it", r"\frac{1}{2}"),
    (r"\boxed{x^{2}}", "x^{2}"),
    ("Natalia sold 24 clips.\n#### 72", "72"),
    ("I computed 3 and then 4", None),  # commits to nothing
    (r"\boxed{12", None),  # cut off inside the box
    ("", None),
])
def test_extract_answer(completion, expected):
    assert extract_answer(completion) == expected


def test_extract_answer_chat_message_and_huge_output():
    assert extract_answer([{"role": "assistant", "content": "A: 5"}]) == "5"
    assert extract_answer("x" * 1_000_000 + " The answer is 12") == "12"


@pytest.mark.parametrize("a, b, same", [
    ("0.5", "1/2", True), (r"\frac{1}{2}", "0.5", True), ("1,000", "1000", True), ("-3", "-3.0", True),
    ("$5", "5", True), ("12.5%", "12.5", True), ("3", "4", False), ("0.333", "1/3", False),
    ("1/0", "0", False), ("Paris", " paris ", True), ("Paris", "London", False), ("7", "seven", False),
])
def test_is_equivalent(a, b, same):
    assert is_equivalent(a, b) is same


def test_parse_number_exact_and_bounded():
    assert parse_number("1" * 65) is None  # absurd digit strings are not answers
    assert parse_number("2/4") == parse_number("0.5")


def test_verify_gsm8k_gold_format():
    assert verify("The answer is 72", "48/2 = 24 ... #### 72")
    assert not verify("The answer is 71", "#### 72")


def test_accuracy_reward_contract():
    completions = [" 19", " 18", [{"role": "assistant", "content": " 19"}], "no idea"]
    assert accuracy_reward(completions, answer=["19"] * 4, prompts=["q"] * 4) == [1.0, 0.0, 1.0, 0.0]
    assert accuracy_reward([" 3"], answer=[""]) == [None]  # the reference cannot be parsed
    with pytest.raises(ValueError, match="2 completions but 1 answers"):
        accuracy_reward([" 1", " 2"], answer=["1"])


def test_reward_pickles_for_worker_processes():
    assert pickle.loads(pickle.dumps(accuracy_reward))([" 2"], answer=["2"]) == [1.0]
