import pytest
import torch

from rlvr.data import format_prompt
from rlvr.modeling import completion_logprobs, load_causal_lm, load_tokenizer
from rlvr.rollout import HFGenerator, SamplingParams, completion_mask, sample_rollout
from rlvr.toy import arithmetic_splits


def test_completion_mask_through_first_eos():
    ids = torch.tensor([[5, 1, 0, 0], [5, 6, 7, 8], [1, 0, 0, 0]])
    mask, truncated = completion_mask(ids, eos_token_id=1)
    assert mask.tolist() == [[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]]
    assert truncated.tolist() == [False, True, False]


def _setup(toy_dir):
    tok, model = load_tokenizer(toy_dir), load_causal_lm(toy_dir)
    _, test = arithmetic_splits(0)
    rows = test[:6]
    return tok, model, rows, [format_prompt(tok, r["prompt"]) for r in rows]


def test_groups_are_consecutive_and_sampling_is_seeded(toy_dir):
    tok, model, rows, texts = _setup(toy_dir)
    gen = HFGenerator(model, tok.pad_token_id, tok.eos_token_id, batch_size=7)
    params = SamplingParams(max_new_tokens=6, temperature=1.0)
    torch.manual_seed(0)
    a = sample_rollout(gen, tok, texts, rows, 4, params, "cpu")
    torch.manual_seed(0)
    b = sample_rollout(gen, tok, texts, rows, 4, params, "cpu")
    assert len(a) == 24 and a.completions == b.completions
    assert a.rows[0:4] == [rows[0]] * 4 and a.prompts[4] == texts[1]
    assert a.completion_ids.shape[1] <= 6 and (a.prompt_mask[:, -1] == 1).all()  # left-padded


def test_training_logprobs_equal_the_sampling_distribution(toy_dir):
    """The loss's forward (with position ids from the mask) sees exactly generate's logits."""
    tok, model, rows, texts = _setup(toy_dir)
    gen = HFGenerator(model, tok.pad_token_id, tok.eos_token_id)
    r = sample_rollout(gen, tok, texts, rows, 2, SamplingParams(6), "cpu")
    out = model.generate(input_ids=r.prompt_ids, attention_mask=r.prompt_mask, do_sample=False,
                         max_new_tokens=r.completion_ids.shape[1], output_logits=True,
                         return_dict_in_generate=True, pad_token_id=0, eos_token_id=1, min_new_tokens=0)
    # teacher-force generate's own greedy tokens through completion_logprobs
    greedy = out.sequences[:, r.prompt_ids.shape[1]:]
    mask, _ = completion_mask(greedy, tok.eos_token_id)
    expected = torch.log_softmax(torch.stack(out.logits, 1) / 0.7, -1).gather(-1, greedy.unsqueeze(-1)).squeeze(-1)
    got = completion_logprobs(model, r.prompt_ids, r.prompt_mask, greedy, mask, temperature=0.7)
    assert torch.allclose(got * mask, expected * mask, atol=1e-4)


def test_generation_ignores_checkpoint_generation_config(toy_dir):
    tok, model, rows, texts = _setup(toy_dir)
    model.generation_config.repetition_penalty = 5.0  # must not leak into RL sampling
    model.generation_config.max_new_tokens = 1
    gen = HFGenerator(model, tok.pad_token_id, tok.eos_token_id)
    r = sample_rollout(gen, tok, texts, rows, 1, SamplingParams(6, greedy=True), "cpu")
    model.generation_config.repetition_penalty = 1.0
    r2 = sample_rollout(gen, tok, texts, rows, 1, SamplingParams(6, greedy=True), "cpu")
    assert r.completions == r2.completions and r.completion_ids.shape[1] > 1


def test_shared_prefix_logprobs_and_gradients_equal_the_plain_forward(toy_dir):
    tok, model, rows, texts = _setup(toy_dir)
    texts[0] = "Q: 1+1=? A:"  # a shorter prompt: left padding inside the batch
    gen = HFGenerator(model, tok.pad_token_id, tok.eos_token_id)
    r = sample_rollout(gen, tok, texts, rows, 4, SamplingParams(6), "cpu")
    args = (r.prompt_ids, r.prompt_mask, r.completion_ids, r.completion_mask)
    mask = r.completion_mask.bool()
    model.train()
    plain = completion_logprobs(model, *args, temperature=0.9)
    shared = completion_logprobs(model, *args, temperature=0.9, group_size=4)
    assert torch.allclose(plain[mask], shared[mask], atol=1e-4)
    params = list(model.parameters())
    g_plain = torch.autograd.grad((plain * mask).sum(), params)
    g_shared = torch.autograd.grad((shared * mask).sum(), params)
    for a, b in zip(g_plain, g_shared):
        assert torch.allclose(a, b, atol=1e-3, rtol=1e-3)


@pytest.mark.parametrize("params", [SamplingParams(6), SamplingParams(6, temperature=0.7, top_p=0.9, top_k=20)],
                         ids=["sample", "warped"])
def test_shared_prefix_sampling_equals_plain_generate(toy_dir, params):
    """HFGenerator (shared prompt cache, its own warpers then the log-prob recorder) draws the tokens
    of a plain ``generate`` whose warpers come from the generation config."""
    from transformers import GenerationConfig

    tok, model, rows, texts = _setup(toy_dir)
    texts[0] = "Q: 1+1=? A:"
    gen = HFGenerator(model, tok.pad_token_id, tok.eos_token_id)
    from rlvr.rollout import encode_prompts

    ids, mask = encode_prompts(tok, texts)
    torch.manual_seed(3)
    shared = gen.generate(ids, mask, 4, params)
    config = GenerationConfig(do_sample=True, max_new_tokens=6, temperature=params.temperature, top_p=params.top_p,
                              top_k=params.top_k, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
    torch.manual_seed(3)
    plain = model.generate(input_ids=ids.repeat_interleave(4, 0), attention_mask=mask.repeat_interleave(4, 0),
                           generation_config=config)[:, ids.shape[1]:]
    assert torch.equal(shared.completion_ids, plain)


@pytest.mark.parametrize("params", [SamplingParams(6), SamplingParams(6, temperature=0.7, top_p=0.9, top_k=20),
                                    SamplingParams(6, greedy=True)], ids=["sample", "warped", "greedy"])
def test_kv_cache_sampler_draws_the_same_tokens_as_generate(toy_dir, params):
    tok, model, rows, texts = _setup(toy_dir)
    texts[0] = "Q: 1+1=? A:"
    from rlvr.rollout import KVCacheSampler, encode_prompts

    ids, mask = encode_prompts(tok, texts)
    torch.manual_seed(11)
    expected = HFGenerator(model, tok.pad_token_id, tok.eos_token_id).generate(ids, mask, 4, params)
    torch.manual_seed(11)
    got = KVCacheSampler(model, tok.pad_token_id, tok.eos_token_id).generate(ids, mask, 4, params)
    assert torch.equal(got.completion_ids, expected.completion_ids)
    assert torch.allclose(got.sampler_logprobs, expected.sampler_logprobs, atol=1e-5)


def test_hidden_states_returned_with_logprobs_match_between_paths(toy_dir):
    tok, model, rows, texts = _setup(toy_dir)
    texts[0] = "Q: 1+1=? A:"
    r = sample_rollout(HFGenerator(model, tok.pad_token_id, tok.eos_token_id), tok, texts, rows, 4,
                       SamplingParams(6), "cpu")
    args = (r.prompt_ids, r.prompt_mask, r.completion_ids, r.completion_mask)
    mask = r.completion_mask.bool()
    lp_plain, h_plain = completion_logprobs(model, *args, return_hidden=True)
    lp_shared, h_shared = completion_logprobs(model, *args, group_size=4, return_hidden=True)
    assert torch.allclose(lp_plain[mask], lp_shared[mask], atol=1e-4)
    assert h_plain.shape == (*r.completion_ids.shape, model.config.hidden_size)
    assert torch.allclose(h_plain[mask], h_shared[mask], atol=1e-4)


def test_long_prompts_keep_their_last_tokens(toy_dir):
    from rlvr.rollout import encode_prompts

    tok = load_tokenizer(toy_dir)
    ids, mask = encode_prompts(tok, ["Q: 12+34=? A:", "Q: 1+2=? A:"], max_prompt_length=5)
    assert ids.shape == (2, 5) and mask.all()
    assert tok.decode(ids[0]).endswith("=? A:")  # the question's end and the generation prompt survive


@pytest.mark.parametrize("backend", ["hf", "rlvr"])
@pytest.mark.parametrize("params", [SamplingParams(6, temperature=0.7), SamplingParams(6, greedy=True)],
                         ids=["sample", "greedy"])
def test_sampler_logprobs_equal_the_trainers_without_a_mismatch(toy_dir, backend, params):
    """Same model, float32 on both sides: the log-probs the generator reports are the ones the
    trainer's forward recomputes (greedy: the model's at temperature 1), and 0 after eos."""
    from rlvr.rollout import GENERATORS

    tok, model, rows, texts = _setup(toy_dir)
    texts[0] = "Q: 1+1=? A:"
    torch.manual_seed(5)
    r = sample_rollout(GENERATORS[backend](model, tok.pad_token_id, tok.eos_token_id), tok, texts, rows, 4, params,
                       "cpu")
    temperature = 1.0 if params.greedy else params.temperature
    with torch.no_grad():
        trainer = completion_logprobs(model, r.prompt_ids, r.prompt_mask, r.completion_ids, r.completion_mask,
                                      temperature=temperature)
    mask = r.completion_mask.bool()
    assert (~mask).any() and (r.sampler_logprobs[~mask] == 0).all()
    assert torch.allclose(r.sampler_logprobs[mask], trainer[mask], atol=1e-5)


def test_top_k_sampler_logprobs_are_renormalised(toy_dir):
    """With top-k the sampler draws from the renormalised top k: its log-probs exceed the trainer's
    full-softmax ones by log(1 / kept mass), the gap importance sampling then sees."""
    from rlvr.rollout import KVCacheSampler

    tok, model, rows, texts = _setup(toy_dir)
    torch.manual_seed(5)
    r = sample_rollout(KVCacheSampler(model, tok.pad_token_id, tok.eos_token_id), tok, texts, rows, 4,
                       SamplingParams(6, top_k=2), "cpu")
    with torch.no_grad():
        full = completion_logprobs(model, r.prompt_ids, r.prompt_mask, r.completion_ids, r.completion_mask)
    mask = r.completion_mask.bool()
    assert (r.sampler_logprobs[mask] >= full[mask] - 1e-5).all() and (r.sampler_logprobs[mask] > full[mask] + 1e-3).any()
