from rewards.code.consensus import call_inputs, function_signature, stdio_signature
from rlvr.testtime import execution_vote

TESTS = "def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(a=-1, b=4) == 3\n\ncheck(add)"


def test_call_inputs_reads_literal_arguments_only():
    assert call_inputs(TESTS) == [((2, 3), {}), ((), {"a": -1, "b": 4})]


def test_signatures_cluster_programs_by_behaviour(clean_after):
    inputs = call_inputs(TESTS)
    programs = ["def add(a, b):\n    return a + b", "def add(a, b):\n    return b + a", "def add(a, b):\n    return a * b",
                "def add(a, b):\n    raise ValueError", "def add(a, b) return", "class Solution:\n    pass"]
    sigs = [function_signature(p, "add", inputs, timeout=3) for p in programs]
    assert sigs[0] == sigs[1] != sigs[2]
    assert sigs[3] == ("error:ValueError", "error:ValueError") and sigs[4] is None and sigs[5] is None
    assert execution_vote(sigs)[0] == 0
    method = "class Solution:\n    def add(self, a, b):\n        return a + b"
    assert function_signature(method, "Solution.add", inputs) == sigs[0]
    echo, double = "print(input())", "x = input()\nprint(x + x)"
    assert stdio_signature(echo, ["1", "ab"]) == ("1", "ab") and stdio_signature(double, ["1"]) == ("11",)
    assert stdio_signature("while True: pass", ["1"], timeout=1) == ("timeout",)
