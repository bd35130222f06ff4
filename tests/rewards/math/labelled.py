r"""A hand-labelled set of (completion, gold, label) triples for the math verifier.

Used by the tests (every pair must be decided right) and by ``scripts/bench_math.py`` (accuracy and
throughput side by side with math-verify). Three parts:

* ``ANSWER_PAIRS``: (model's final answer, gold, label, category) written the way models and data sets
  write them, wrapped in realistic chain-of-thought templates that contain distracting intermediate
  numbers (the template rotates deterministically);
* ``COMPLETIONS``: whole hand-written completions for extraction and reward hacking;
* GSM8K: real test questions' golds (``#### N``) with correct and off-by-one model solutions,
  built from ``../shared/data/gsm8k_test.jsonl`` when it is present.
"""

from __future__ import annotations

import json
from pathlib import Path

SHARED = Path(__file__).resolve().parents[4] / "shared" / "data"

# (prediction, gold, label, category)
ANSWER_PAIRS = [
    # integers, separators, signs
    ("42", "42", True, "integer"), ("-50", "-50", True, "integer"), ("2220", "2,220", True, "integer"),
    ("10080", "10,\\!080", True, "integer"), ("11111111100", "11,\\! 111,\\! 111,\\! 100", True, "integer"),
    ("58{,}500", "58,500", True, "integer"), ("1\u2009000", "1000", True, "integer"), ("25", "025", True, "integer"),
    ("142", "142.0", True, "integer"), ("41", "42", False, "integer"), ("-5", "5", False, "integer"),
    ("2221", "2,220", False, "integer"), ("1000", "10000", False, "integer"), ("0", "-0", True, "integer"),
    ("13535", "13535", True, "integer"), ("9901", "9910", False, "integer"),
    # decimals
    ("1.25", "1.25", True, "decimal"), ("1.250", "1.25", True, "decimal"), ("0.15", ".15", True, "decimal"),
    ("0.0000672", ".0000672", True, "decimal"), ("326.5", "326.50", True, "decimal"), ("3.21", "3.12", False, "decimal"),
    ("4.5", "4.55", False, "decimal"), ("0.35625", ".35625", True, "decimal"), ("5.4", "5.4 \\text{ cents}", True, "decimal"),
    ("18.9", "\\$18.90", True, "decimal"), ("18.09", "\\$18.90", False, "decimal"),
    # fractions and mixed numbers
    ("\\frac{14}{3}", "\\frac{14}{3}", True, "fraction"), ("14/3", "\\frac{14}{3}", True, "fraction"),
    ("\\dfrac{3}{56}", "\\frac{3}{56}", True, "fraction"), ("\\tfrac{243}{625}", "\\frac{243}{625}", True, "fraction"),
    ("\\frac43", "\\frac{4}{3}", True, "fraction"), ("\\frac{8}{6}", "\\frac43", True, "fraction"),
    ("1.5", "\\frac{3}{2}", True, "fraction"), ("\\frac{3}{2}", "\\frac{2}{3}", False, "fraction"),
    ("\\frac{9}{19}", "\\frac9{19}", True, "fraction"), ("\\frac{5}{9}", "\\frac 59", True, "fraction"),
    ("0.34", "\\dfrac{17}{50}", True, "fraction"), ("\\frac{17}{50}", "\\frac{17}{51}", False, "fraction"),
    ("\\frac{9}{5}", "1\\frac{4}{5}", True, "mixed"), ("1.8", "1\\frac{4}{5}", True, "mixed"),
    ("137.5", "137 \\frac{1}{2}", True, "mixed"), ("\\frac{275}{2}", "137 \\frac{1}{2}", True, "mixed"),
    ("\\frac{4}{5}", "1\\frac{4}{5}", False, "mixed"), ("-\\frac{35}{9}", "-\\frac{35}{9}", True, "fraction"),
    ("\\frac{-35}{9}", "-\\frac{35}{9}", True, "fraction"), ("\\frac{35}{9}", "-\\frac{35}{9}", False, "fraction"),
    ("\\frac{1}{2^{99}}", "\\frac{1}{2^{99}}", True, "exact"), ("\\frac{1}{2^{98}}", "\\frac{1}{2^{99}}", False, "exact"),
    ("2^{-99}", "\\frac{1}{2^{99}}", True, "exact"), ("\\frac{1}{2004!}", "\\frac{1}{2006!}", False, "exact"),
    ("\\frac{2005 \\cdot 2006}{2006!}", "\\frac{1}{2004!}", True, "exact"), ("\\frac{2}{1005}", "\\frac{2}{1005}", True, "exact"),
    ("\\frac{1}{1005}", "\\frac{2}{1005}", False, "exact"), ("10^{100}+1", "10^{100}", False, "exact"),
    # percentages (policy: bare number or number/100)
    ("12.5\\%", "12.5", True, "percent"), ("12.5", "12.5\\%", True, "percent"), ("0.125", "12.5\\%", True, "percent"),
    ("50\\%", "50", True, "percent"), ("25\\%", "50", False, "percent"), ("12.6\\%", "12.5", False, "percent"),
    ("40 percent", "40", True, "percent"),
    # scientific notation
    ("3\\times10^{8}", "300000000", True, "scientific"), ("3e8", "3 \\times 10^8", True, "scientific"),
    ("6.72 \\times 10^{-5}", ".0000672", True, "scientific"), ("6.72 \\cdot 10^{-4}", ".0000672", False, "scientific"),
    ("1.5E3", "1500", True, "scientific"), ("2\\times 10^{3}", "200", False, "scientific"),
    # repeating decimals
    ("0.\\overline{3}", "\\frac{1}{3}", True, "repeating"), ("0.1\\overline{6}", "\\frac{1}{6}", True, "repeating"),
    ("0.\\overline{36}", "\\frac{4}{11}", True, "repeating"), ("0.\\overline{3}", "0.3", False, "repeating"),
    # rounding tolerance (documented: >= 3 significant digits, the other side non-terminating)
    ("0.333", "\\frac{1}{3}", True, "rounding"), ("0.33", "\\frac{1}{3}", False, "rounding"),
    ("1.414", "\\sqrt{2}", True, "rounding"), ("1.41", "\\sqrt{2}", True, "rounding"), ("1.42", "\\sqrt{2}", False, "rounding"),
    ("17.32", "10\\sqrt{3}", True, "rounding"), ("0.3", "\\frac{1}{3}", False, "rounding"),
    ("2.50", "2.5", True, "rounding"), ("2.5", "2.49", False, "rounding"),
    # radicals
    ("3\\sqrt{13}", "3\\sqrt{13}", True, "radical"), ("\\sqrt{117}", "3\\sqrt{13}", True, "radical"),
    ("3\\sqrt{12}", "3\\sqrt{13}", False, "radical"), ("11\\sqrt2", "11\\sqrt{2}", True, "radical"),
    ("\\sqrt{242}", "11\\sqrt2", True, "radical"), ("\\frac{\\sqrt{3}}{3}", "\\frac{1}{\\sqrt{3}}", True, "radical"),
    ("\\frac{\\sqrt{3}}{2}", "\\frac{\\sqrt{3}}{3}", False, "radical"), ("\\frac{3\\sqrt{3}}{4}", "\\frac34\\sqrt3", True, "radical"),
    ("2\\sqrt{113}", "\\sqrt{452}", True, "radical"), ("2\\sqrt{5}", "\\sqrt{20}", True, "radical"),
    ("\\sqrt[3]{16}", "2\\sqrt[3]{2}", True, "radical"), ("\\sqrt[3]{16}", "2\\sqrt{2}", False, "radical"),
    ("1+2\\sqrt{3}", "2\\sqrt3+1", True, "radical"), ("11 \\sqrt{5} + 11", "11(\\sqrt5+1)", True, "radical"),
    ("\\frac{\\sqrt{21}}{5}", "\\sqrt{\\frac{21}{25}}", True, "radical"), ("-\\sqrt{3}", "\\sqrt{3}", False, "radical"),
    ("sqrt(51)", "\\sqrt{51}", True, "radical"), ("16 \\sqrt{3}", "16\\sqrt{3}", True, "radical"),
    ("\\sqrt{50}", "7.07", True, "radical"), ("\\sqrt{50}", "7.08", False, "radical"),
    # pi and e
    ("\\pi", "\\pi", True, "pi"), ("288\\pi", "288 \\pi", True, "pi"), ("18+2\\pi", "2\\pi+18", True, "pi"),
    ("-\\frac{\\pi}{6}", "-\\frac{\\pi}{6}", True, "pi"), ("-\\pi/6", "-\\frac{\\pi}{6}", True, "pi"),
    ("\\frac{\\pi}{6}", "-\\frac{\\pi}{6}", False, "pi"), ("\\frac{20000}{\\pi}", "20000/\\pi", True, "pi"),
    ("7\\pi", "7 \\pi", True, "pi"), ("8\\pi", "7\\pi", False, "pi"), ("2\\pi", "6.28", True, "pi"), ("2\\pi", "6.29", False, "pi"),
    ("e^2", "e^{2}", True, "pi"), ("e^{2}", "2e", False, "pi"),
    # units and degrees
    ("90^\\circ", "90^\\circ", True, "units"), ("90", "90^\\circ", True, "units"), ("90^{\\circ}", "90", True, "units"),
    ("145", "145^\\circ", True, "units"), ("146^\\circ", "145^\\circ", False, "units"), ("\\frac{270}{7}", "\\frac{270}7\\text{ degrees}", True, "units"),
    ("864", "864 \\mbox{ inches}^2", True, "units"), ("15", "15\\mbox{ cm}^2", True, "units"), ("16", "15\\mbox{ cm}^2", False, "units"),
    ("32348", "\\$32,\\!348", True, "units"), ("\\$36", "36", True, "units"), ("18 square feet", "18", True, "units"),
    ("30^\\circ", "30", True, "units"), ("60^\\circ", "30", False, "units"),
    # equations "x = 3"
    ("x=5", "5", True, "equation"), ("5", "x=5", True, "equation"), ("x = 6", "x=5", False, "equation"),
    ("y = 2x + 3", "y = 2x + 3", True, "equation"), ("2x+3", "y = 2x + 3", True, "equation"),
    ("y=3+2x", "y = 2x + 3", True, "equation"), ("y = 2x - 3", "y = 2x + 3", False, "equation"),
    ("y = -2x", "y=-2x", True, "equation"), ("5x - 7y + 11z + 4 = 0", "5x - 7y + 11z + 4 = 0", True, "equation"),
    ("-5x + 7y - 11z - 4 = 0", "5x - 7y + 11z + 4 = 0", True, "equation"), ("10x - 14y + 22z + 8 = 0", "5x - 7y + 11z + 4 = 0", True, "equation"),
    ("5x - 7y + 11z - 4 = 0", "5x - 7y + 11z + 4 = 0", False, "equation"),
    # sets and lists
    ("3, 5, 7", "3, 5, 7", True, "set"), ("7, 5, 3", "3, 5, 7", True, "set"), ("3, 5", "3, 5, 7", False, "set"),
    ("\\{3,5,7\\}", "3, 5, 7", True, "set"), ("-2, 1", "1,-2", True, "set"), ("1, 2", "1,-2", False, "set"),
    ("\\{1\\pm\\sqrt{5},-2\\}", "\\{1\\pm\\sqrt{5},-2\\}", True, "set"), ("-2, 1+\\sqrt5, 1-\\sqrt5", "\\{1\\pm\\sqrt{5},-2\\}", True, "set"),
    ("-2, 1+\\sqrt5", "\\{1\\pm\\sqrt{5},-2\\}", False, "set"), ("1 \\pm \\sqrt{19}", "1 \\pm \\sqrt{19}", True, "set"),
    ("1+\\sqrt{19}, 1-\\sqrt{19}", "1 \\pm \\sqrt{19}", True, "set"), ("1+\\sqrt{19}", "1 \\pm \\sqrt{19}", False, "set"),
    ("3 \\pm 2\\sqrt2", "3 \\pm 2 \\sqrt{2}", True, "set"), ("-2,1", "-2,1", True, "set"),
    ("x = 3 \\text{ or } x = 4", "3, 4", True, "set"),
    # tuples and points
    ("(6,31,-1)", "(6,31,-1)", True, "tuple"), ("(6, 31, -1)", "(6,31,-1)", True, "tuple"), ("(31,6,-1)", "(6,31,-1)", False, "tuple"),
    ("\\left( 3, \\frac{\\pi}{2} \\right)", "\\left( 3, \\frac{\\pi}{2} \\right)", True, "tuple"), ("(3, \\pi/2)", "\\left( 3, \\frac{\\pi}{2} \\right)", True, "tuple"),
    ("(3, 90^\\circ)", "\\left( 3, \\frac{\\pi}{2} \\right)", False, "tuple"), ("(15,-29)", "(15, -29)", True, "tuple"),
    ("(-29,15)", "(15,-29)", False, "tuple"), ("\\left( \\frac{3}{2}, -13 \\right)", "(1.5,-13)", True, "tuple"),
    ("(1,-16,-4,43)", "(1,-16,-4,43)", True, "tuple"), ("(1,-16,-4,42)", "(1,-16,-4,43)", False, "tuple"),
    ("(8,-2)", "(8,-2)", True, "tuple"),
    # intervals
    ("(3,4]", "(3,4]", True, "interval"), ("(3,4)", "(3,4]", False, "interval"), ("[3,4]", "(3,4]", False, "interval"),
    ("(2,\\infty)", "(2,\\infty)", True, "interval"), ("x > 2", "(2,\\infty)", True, "interval"), ("x \\geq 2", "(2,\\infty)", False, "interval"),
    ("(-\\infty, 0]", "(-\\infty, 0]", True, "interval"), ("x \\le 0", "(-\\infty, 0]", True, "interval"), ("x<0", "(-\\infty, 0]", False, "interval"),
    ("\\left(\\frac{3}{5},\\frac{8}{3}\\right]", "(0.6, 8/3]", True, "interval"), ("\\frac{3}{5} < x \\le \\frac{8}{3}", "\\left(\\frac{3}{5},\\frac{8}{3}\\right]", True, "interval"),
    ("(-\\infty, 2) \\cup (3, \\infty)", "(-\\infty, 2) \\cup (3, \\infty)", True, "interval"), ("(3, \\infty) \\cup (-\\infty, 2)", "(-\\infty, 2) \\cup (3, \\infty)", True, "interval"),
    ("(-\\infty, 2] \\cup (3, \\infty)", "(-\\infty, 2) \\cup (3, \\infty)", False, "interval"), ("x \\in [-2,7]", "[-2,7]", True, "interval"),
    ("[-2,7)", "x \\in [-2,7]", False, "interval"), ("(0,9) \\cup (9,36)", "(0,9) \\cup (9,36)", True, "interval"),
    ("(-\\sqrt{3}, \\sqrt{3})", "(-\\sqrt{3}, \\sqrt{3})", True, "interval"), ("\\left[ \\frac{\\pi^2}{8}, \\frac{5 \\pi^2}{4} \\right]", "\\left[ \\frac{\\pi^2}{8}, \\frac{5 \\pi^2}{4} \\right]", True, "interval"),
    # matrices and vectors
    ("\\begin{pmatrix} -1/3 \\\\ 2/3 \\\\ 5/3 \\end{pmatrix}", "\\begin{pmatrix} -1/3 \\\\ 2/3 \\\\ 5/3 \\end{pmatrix}", True, "matrix"),
    ("\\begin{pmatrix} -\\frac13 \\\\ \\frac23 \\\\ \\frac53 \\end{pmatrix}", "\\begin{pmatrix} -1/3 \\\\ 2/3 \\\\ 5/3 \\end{pmatrix}", True, "matrix"),
    ("\\begin{pmatrix} 1/3 \\\\ 2/3 \\\\ 5/3 \\end{pmatrix}", "\\begin{pmatrix} -1/3 \\\\ 2/3 \\\\ 5/3 \\end{pmatrix}", False, "matrix"),
    ("\\begin{bmatrix} -1 & 0 \\\\ 0 & -1 \\end{bmatrix}", "\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}", True, "matrix"),
    ("\\begin{pmatrix} -1 & 0 \\\\ 0 & 1 \\end{pmatrix}", "\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}", False, "matrix"),
    ("(-2, -14, -7)", "\\begin{pmatrix} -2 \\\\ -14 \\\\ -7 \\end{pmatrix}", True, "matrix"),
    ("(-2, -14, 7)", "\\begin{pmatrix} -2 \\\\ -14 \\\\ -7 \\end{pmatrix}", False, "matrix"),
    ("\\begin{pmatrix} 0.2 \\\\ -3.6 \\end{pmatrix}", "\\begin{pmatrix} 1/5 \\\\ -18/5 \\end{pmatrix}", True, "matrix"),
    # complex numbers
    ("6 - 5i", "6 - 5i", True, "complex"), ("-5i + 6", "6 - 5i", True, "complex"), ("6 + 5i", "6 - 5i", False, "complex"),
    ("1+274i", "1+274i", True, "complex"), ("274i+1", "1+274i", True, "complex"), ("1 - 12i", "1-12i", True, "complex"),
    ("-2 + 7i", "7i-2", True, "complex"), ("2 - 7i", "-2 + 7i", False, "complex"), ("1+2i", "1 + 2i", True, "complex"),
    ("\\frac{2+4i}{2}", "1+2i", True, "complex"), ("i^2", "-1", True, "complex"),
    # inequalities
    ("x < 3", "3 > x", True, "inequality"), ("x \\le 3", "x < 3", False, "inequality"), ("x > -1", "-1 < x", True, "inequality"),
    ("2 < x < 5", "(2, 5)", True, "inequality"), ("2 \\le x < 5", "(2, 5)", False, "inequality"),
    # symbolic expressions
    ("p - q", "p - q", True, "symbolic"), ("-q + p", "p - q", True, "symbolic"), ("q - p", "p - q", False, "symbolic"),
    ("x^3+3x-6", "x^3+3x-6", True, "symbolic"), ("3x + x^3 - 6", "x^3+3x-6", True, "symbolic"), ("x^3+3x+6", "x^3+3x-6", False, "symbolic"),
    ("(a+5)(b+2)", "(a+5)(b+2)", True, "symbolic"), ("ab+2a+5b+10", "(a+5)(b+2)", True, "symbolic"), ("(a+2)(b+5)", "(a+5)(b+2)", False, "symbolic"),
    ("2k+2", "2k+2", True, "symbolic"), ("2(k+1)", "2k+2", True, "symbolic"), ("2k+1", "2k+2", False, "symbolic"),
    ("x^5 - x^4 + x^3 - x^2 + x - 1", "x^5 - x^4 + x^3 - x^2 + x - 1", True, "symbolic"),
    ("\\frac{x^6-1}{x+1}", "x^5 - x^4 + x^3 - x^2 + x - 1", True, "symbolic"),
    ("\\frac{11+9a}{20}", "\\frac{11+9a}{20}", True, "symbolic"), ("\\frac{9a+11}{20}", "\\frac{11+9a}{20}", True, "symbolic"),
    ("\\frac{11+9a}{21}", "\\frac{11+9a}{20}", False, "symbolic"), ("6r^2-4r-24", "6r^2-4r-24", True, "symbolic"),
    ("2(3r^2-2r-12)", "6r^2-4r-24", True, "symbolic"), ("5r^5", "5r^5", True, "symbolic"), ("5r^4", "5r^5", False, "symbolic"),
    ("3R^2", "3R^2", True, "symbolic"), ("\\cot x", "\\cot x", True, "symbolic"), ("\\frac{\\cos x}{\\sin x}", "\\cot x", True, "symbolic"),
    ("\\tan x", "\\cot x", False, "symbolic"), ("8n^2 + 4n + 1", "8n^2+4n+1", True, "symbolic"), ("-13x+3", "3-13x", True, "symbolic"),
    ("15x - 80", "5(3x-16)", True, "symbolic"), ("x", "y", False, "symbolic"),
    # base subscripts and text answers
    ("52_8", "52_8", True, "text"), ("52", "52_8", True, "text"), ("53_8", "52_8", False, "text"),
    ("4210_{5}", "4210_5", True, "text"), ("\\text{Evelyn}", "\\text{Evelyn}", True, "text"), ("Evelyn", "\\text{Evelyn}", True, "text"),
    ("Navin", "\\text{Evelyn}", False, "text"), ("\\text{east}", "\\text{east}", True, "text"), ("\\text{west}", "\\text{east}", False, "text"),
    ("even", "\\text{even}", True, "text"), ("\\text{odd}", "\\text{even}", False, "text"), ("ellipse", "\\text{ellipse}", True, "text"),
    # multiple choice
    ("(C)", "\\text{(C)}", True, "choice"), ("C", "\\text{(C)}", True, "choice"), ("\\text{(B)}", "\\text{(C)}", False, "choice"),
    ("E", "\\text{(E)}", True, "choice"), ("(B)", "\\text{(B)}", True, "choice"), ("A", "\\text{(B)}", False, "choice"),
    # near misses that a numeric tolerance would accept
    ("\\frac{1}{3}", "0.3333333334", False, "adversarial"), ("\\frac{1}{3}", "0.3333333333", True, "rounding"), ("1000000", "1000001", False, "adversarial"),
    ("3.14159", "\\pi", True, "adversarial"), ("3.1416", "3.1415", False, "adversarial"),
    ("\\sqrt{10^{40}+1}", "10^{20}", False, "adversarial"), ("10^{10^{10}}", "10^{10^{11}}", False, "adversarial"),
    ("2^{2^{2^{2^{2}}}}", "2^{65536}", True, "adversarial"), ("9^{9^{9}}", "9^{9^{9}}+1", False, "adversarial"),
    ("100!", "100!+1", False, "adversarial"), ("\\frac{1}{10^{30}}", "0", False, "adversarial"),
]

# Reasoning shared by the templates; the numbers in it must never be taken as the answer.
_REASONING = [
    "We start from the given conditions. Substituting the first equation into the second gives 3 + 4 = 7, "
    "and multiplying by 2 we obtain 14.",
    "Let me set up the problem. There are 12 cases to check; after removing the 5 invalid ones, 7 remain, "
    "so the count simplifies.",
    "First, note that 2^3 = 8 and 8 - 1 = 7. Now apply the formula from the previous step carefully.",
]
TEMPLATES = [
    "{reasoning}\nTherefore, the final answer is $\\boxed{{{answer}}}$.",
    "{reasoning}\n\nFinal Answer: The final answer is ${answer}$. I hope it is correct.",
    "<think>\n{reasoning}\n</think>\nSo the answer is $\\boxed{{{answer}}}$",
    "{reasoning}\n\n**Answer:** ${answer}$",
    "{reasoning} Hence the answer is ${answer}$.",
]

# Whole completions: (completion, gold, label, category)
COMPLETIONS = [
    # extraction
    ("We compute $\\frac{3}{4}$ first. The answer is $\\boxed{\\frac{\\sqrt{3}}{2}}$.", "\\frac{\\sqrt{3}}{2}", True, "extraction"),
    ("So $x = \\boxed{\\left\\{1, \\frac{1}{2}\\right\\}}$ are the roots.", "\\{1, 1/2\\}", True, "extraction"),
    ("Thus the area is \\fbox{$12\\pi$}.", "12\\pi", True, "extraction"),
    ("The total is 5 + 6 = 11.\nThe answer is \\boxed 11", "11", True, "extraction"),
    ("Adding the pieces we get 36.\nAnswer: 36", "36", True, "extraction"),
    ("Adding the pieces we get 36.\nAnswer: 35", "36", False, "extraction"),
    ("Natalia sold 48/2 = 24 clips in May.\nNatalia sold 48+24 = 72 clips altogether.\n#### 72", "72", True, "extraction"),
    ("Q: what is 5+7?\nA: 12", "12", True, "extraction"),
    ("The final answer is 1/2.", "\\frac{1}{2}", True, "extraction"),
    ("We first guessed the answer is 3, but checking again, the answer is 5.", "5", True, "extraction"),
    ("We first guessed the answer is 5, but checking again, the answer is 3.", "5", False, "extraction"),
    ("**Final Answer:** $\\dfrac{7}{4}$", "\\frac{7}{4}", True, "extraction"),
    ("Final answer: x = 4, which satisfies the equation.", "4", True, "extraction"),
    ("The answer is $\\$18.90$.", "\\$18.90", True, "extraction"),
    ("So the expected value is $\\boxed{3.5}$", "\\frac72", True, "extraction"),
    ("The answer is \\boxed{\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}}.", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", True, "extraction"),
    (" 19", "19", True, "extraction"), (" 18", "19", False, "extraction"),
    ("The roots are x = 3 or x = 4, so the answer is $x = 3 \\text{ or } x = 4$.", "3, 4", True, "extraction"),
    ("Therefore $\\boxed{2}$. Double-checking with the formula also gives $\\boxed{2}$.", "2", True, "extraction"),
    # multiple choice
    ("Comparing the options, the answer is (B).", "\\text{(B)}", True, "choice"),
    ("Comparing the options, the answer is (B).", "\\text{(C)}", False, "choice"),
    ("Only option C works.\n\n**C**", "C", True, "choice"),
    ("The answer is $\\boxed{\\text{(E)}}$", "E", True, "choice"),
    ("The answer is **D**.", "\\text{(D)}", True, "choice"),
    ("The answer is B) 42", "B", True, "choice"),
    ("The answer is A", "\\text{(B)}", False, "choice"),
    # cut off / no commitment
    ("Let's compute. First 3 + 4 = 7, then 7 * 6 = 42, so", "42", False, "no_answer"),
    ("The answer is $\\boxed{\\frac{1}{", "\\frac{1}{2}", False, "no_answer"),
    ("I computed 3 and then 4 and then 42.", "42", False, "no_answer"),
    ("", "42", False, "no_answer"),
    ("The answer is $\\boxed{}$", "42", False, "no_answer"),
    ("\x00\x01\xff garbage \\boxed{{{", "42", False, "no_answer"),
    ("x" * 200_000 + " and then we stop", "42", False, "no_answer"),
    ("y" * 200_000 + " The answer is 42", "42", True, "extraction"),
    # reward hacking: several answers, hedges
    ("It is either $\\boxed{3}$ or $\\boxed{4}$.", "3", False, "hacking"),
    ("It is either $\\boxed{3}$ or $\\boxed{4}$.", "4", False, "hacking"),
    ("The answer is 3 or 4.", "3", False, "hacking"),
    ("The answer is $\\boxed{3 \\text{ or } 4}$", "4", False, "hacking"),
    ("\\boxed{1}\\boxed{2}\\boxed{3}\\boxed{4}\\boxed{5}", "5", False, "hacking"),
    ("The answer is \\boxed{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}", "7", False, "hacking"),
    ("The answer is \\boxed{7 \\pm 1}", "7", False, "hacking"),
    ("The answer is \\boxed{x}", "7", False, "hacking"),
    ("The answer is \\boxed{[0, 100]}", "42", False, "hacking"),
    ("The answer is \\boxed{\\text{any real number}}", "42", False, "hacking"),
    ("The answer is \\boxed{42 > 0}", "42", False, "hacking"),
    ("The answer is \\boxed{42 = 42}", "42", False, "hacking"),
    ("The answer is \\boxed{A}", "42", False, "hacking"),
    ("The answer is \\boxed{\\infty}", "42", False, "hacking"),
    ("The answer is \\boxed{41.99}", "42", False, "hacking"),
    ("The answer is \\boxed{42.0001}", "42", False, "hacking"),
    ("The answer is \\boxed{\\approx 42}", "42", True, "extraction"),
    ("The answer is $\\boxed{10^{10^{10^{10}}}}$", "10^{10^{10^{11}}}", False, "hacking"),
    ("The answer is $\\boxed{" + "(" * 500 + "1" + ")" * 500 + "}$", "1", False, "hacking"),
    ("The answer is $\\boxed{9999999!}$", "42", False, "hacking"),
]


def labelled_pairs(shared: Path = SHARED) -> list[dict]:
    """Every labelled (completion, gold, label, category) as dicts."""
    rows = []
    for k, (answer, gold, label, category) in enumerate(ANSWER_PAIRS):
        template = TEMPLATES[k % len(TEMPLATES)]
        completion = template.format(reasoning=_REASONING[k % len(_REASONING)], answer=answer)
        rows.append({"completion": completion, "gold": gold, "label": label, "category": category})
    for completion, gold, label, category in COMPLETIONS:
        rows.append({"completion": completion, "gold": gold, "label": label, "category": category})
    rows.extend(gsm8k_pairs(shared))
    return rows


def gsm8k_pairs(shared: Path = SHARED, n: int = 40) -> list[dict]:
    """GSM8K test golds with a correct and an off-by-one model answer (the model's own CoT style)."""
    path = shared / "gsm8k_test.jsonl"
    if not path.exists():
        return []
    rows = []
    with open(path) as f:
        for k, line in enumerate(f):
            if k >= n:
                break
            row = json.loads(line)
            gold = row["answer"]
            value = int(gold.rsplit("####", 1)[1].strip().replace(",", ""))
            steps = gold.rsplit("####", 1)[0].strip()
            styles = [f"{steps}\n#### {value}", f"Let's think step by step. {steps}\nThe answer is {value:,}.",
                      f"{steps}\nSo the final answer is $\\boxed{{{value}}}$."]
            rows.append({"completion": styles[k % 3], "gold": gold, "label": True, "category": "gsm8k"})
            wrong = styles[(k + 1) % 3].replace(f"{value:,}", str(value + 1)).replace(f"#### {value}", f"#### {value + 1}") \
                .replace(f"boxed{{{value}}}", f"boxed{{{value + 1}}}")
            rows.append({"completion": wrong, "gold": gold, "label": False, "category": "gsm8k"})
    return rows
