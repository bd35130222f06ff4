import torch

from rlvr.data import format_prompt
from rlvr.inference import RewardModelScorer, adaptive_sample, sample
from rlvr.modeling import completion_logprobs, load_causal_lm, load_tokenizer
from rlvr.rollout import completion_mask, encode_prompts
from rlvr.testtime import best_of_n

PROMPTS = [[{"role": "user", "content": "12+7=?"}], [{"role": "user", "content": "40+2=?"}]]


def test_sample_returns_n_samples_with_their_sequence_logprobs(toy_dir):
    tok, model = load_tokenizer(toy_dir), load_causal_lm(toy_dir)
    torch.manual_seed(0)
    out = sample(model, tok, PROMPTS, 3, max_new_tokens=8, batch_size=4)
    assert [len(x) for x in out] == [3, 3]
    s = out[1][2]
    ids, mask = encode_prompts(tok, [format_prompt(tok, PROMPTS[1])])
    completion = tok(s.text, add_special_tokens=False, return_tensors="pt")["input_ids"]
    completion = torch.cat([completion, torch.tensor([[tok.eos_token_id]])], dim=1) if not s.truncated else completion
    c_mask, _ = completion_mask(completion, tok.eos_token_id)
    expected = (completion_logprobs(model, ids, mask, completion, c_mask) * c_mask).sum().item()
    assert abs(s.logprob - expected) < 1e-4 and s.num_tokens == int(c_mask.sum())
    greedy = sample(model, tok, PROMPTS, 1, temperature=0, max_new_tokens=8)
    assert greedy == sample(model, tok, PROMPTS, 1, temperature=0, max_new_tokens=8)  # deterministic


def test_adaptive_sample_stops_within_budget(toy_dir):
    from rewards.math import extract_answer

    tok, model = load_tokenizer(toy_dir), load_causal_lm(toy_dir)
    torch.manual_seed(0)
    vote, drawn = adaptive_sample(model, tok, PROMPTS[0], extract_answer, max_samples=6, batch_size=2,
                                  max_new_tokens=8, temperature=0.01)  # near-greedy: agreement settles fast
    assert 2 <= len(drawn) <= 6 and vote.answer is not None
    assert len(drawn) == 4  # 2 agree (P = 0.875), 4 agree (P = 0.97 >= 0.95)


def test_reward_model_scorer_reranks(toy_dir):
    from transformers import Qwen2Config, Qwen2ForSequenceClassification

    tok = load_tokenizer(toy_dir)
    config = Qwen2Config(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, num_labels=1, pad_token_id=tok.pad_token_id)
    torch.manual_seed(0)
    scorer = RewardModelScorer(Qwen2ForSequenceClassification(config), tok)
    completions = [" 19", " 18", " 20"]
    scores = scorer(PROMPTS[0], completions)
    assert len(scores) == 3 and len(set(scores)) == 3
    assert best_of_n(completions, lambda cs: scorer(PROMPTS[0], cs))[0] == max(range(3), key=scores.__getitem__)
