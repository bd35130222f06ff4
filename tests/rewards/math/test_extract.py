import pytest

from rewards.math import extract_answer


@pytest.mark.parametrize("completion, expected", [
    (" 19", "19"),
    ("Step 1: 3+4=7.\nThe answer is 7.", "7"),
    ("Answer: 1,234", "1,234"),
    (r"so \boxed{\frac{1}{2}} is it", r"\frac{1}{2}"),
    (r"\boxed{x^{2}}", "x^{2}"),
    (r"nested \boxed{\frac{\sqrt{3}}{2}} end", r"\frac{\sqrt{3}}{2}"),
    (r"\fbox{12}", "12"),
    ("Natalia sold 24 clips.\n#### 72", "72"),
    ("Q: 2+2?\nA: 4", "4"),
    ("Final Answer: The final answer is $\\frac{3}{4}$. I hope it is correct.", "\\frac{3}{4}"),
    ("The answer is (B).", "B"),
    ("The answer is **D**.", "D"),
    ("Option C fits.\n**C**", "C"),
    ("The answer is $\\$18.90$.", "\\$18.90"),
    ("We first thought the answer is 3; the answer is 5.", "5"),  # the last committed answer
    (r"$\boxed{2}$ and again $\boxed{2.0}$", "2.0"),  # repeated equal boxes are fine
    (r"First \boxed{3}, but checking again it is \boxed{4}", "4"),  # the last box counts (the field's convention)
    (r"\boxed{(2, 2)} \quad \text{and} \quad \boxed{(6, 2)}", "(2, 2), (6, 2)"),  # one box per element
    (r"the roots are $x = 3 \text{ or } x = 4$. The answer is $x = 3 \text{ or } x = 4$", "3, 4"),
    (r"$\\boxed{\\frac{1}{2}}$", r"\frac{1}{2}"),  # escaped twice
    (r"$\boxed{255}$ So she has $10,455. Final Answer: The final answer is $10,455$.", "10,455"),  # a later marker
    (r"$\boxed{5}$. The answer is correct.", "5"),  # a later marker that states no value does not overrule
    (r"\( y_1 = \boxed{x+1} \) and \( y_2 = \boxed{2x} \)", "x+1, 2x"),  # named boxes joined
    (r"$\boxed{1}$ papers and $\boxed{2}$ bins", "1, 2"),
    (r"$\boxed{(3, 3)}$ for part (a) and $\boxed{(1, 1)}$", "(3, 3), (1, 1)"),
    ("Final Answer: Jane started growing Sphere 3 hours ago.", "3"),  # the one number of a marker sentence
    ("The answer is 42, but I'm not boxing it.", "42"),
    (r"Answer \( \n 9 \n \)".replace(r"\n", "\n"), None),  # inline math does not cross a line break
])
def test_extracts_the_committed_answer(completion, expected):
    assert extract_answer(completion) == expected


@pytest.mark.parametrize("completion, train, evaluation", [
    (r"So $d = \frac{90}{n}$. Therefore, there are 12 such sequences.", None, "12"),
    (r"The equation is $x=\frac{1}{4}$. Some other numbers are 1, 2, 3.", None, "3"),  # reward-kit: conflicting
    (r"So $d = \frac{90}{n}$ and that is it.", r"d = \frac{90}{n}", r"d = \frac{90}{n}"),
    ("so the number is 10 which is 1,000.99m²", None, "1,000.99"),
    ("Soucis : 2,74 $ a..", None, "2,74"),
    ("increases by 100%.", None, "100%"),
    ("AZYUK2A", None, None),
])
def test_eval_policy_reads_the_last_number(completion, train, evaluation):
    assert extract_answer(completion, policy="train") == train
    assert extract_answer(completion, policy="eval") == evaluation


@pytest.mark.parametrize("completion", [
    "I computed 3 and then 4",           # commits to nothing
    r"The answer is \boxed{12",          # cut off inside the box
    r"\boxed{3} or maybe \boxed{4}",     # alternatives
    "The answer is 3 or 4.",             # a hedge
    r"The answer is $\boxed{3 \text{ or } 4}$",
    "",
    "\x00\xff{{{",
])
def test_commits_to_nothing(completion):
    assert extract_answer(completion) is None


def test_chat_message_and_huge_output():
    assert extract_answer([{"role": "assistant", "content": "A: 5"}]) == "5"
    assert extract_answer("x" * 1_000_000 + " The answer is 12") == "12"
