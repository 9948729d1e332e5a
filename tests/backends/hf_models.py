"""Tiny randomly initialised transformers models (and LoRA adapters) built on disk for fast tests."""

from __future__ import annotations

from pathlib import Path

CORPUS = [
    "Question: What is the capital of France? Answer: Paris.",
    "Thought: I need to search for the answer. Action: Search[France]",
    "Observation: France is a country in Europe. The answer is 42.",
    "def solution():\n    return 3 + 4\n",
    "The quick brown fox jumps over the lazy dog, again and again.",
]
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{{ eos_token }}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def build_tiny_llama(directory: Path, *, seed: int = 0, max_positions: int = 256, byte_level: bool = False) -> Path:
    """A 2-layer Llama with hidden size 32 and a printable-ASCII BPE tokenizer of ~300 tokens.

    ``byte_level``: a GPT-2 style byte-level BPE instead (every byte a token, as llguidance needs).
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    if byte_level:
        bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        bpe.decoder = decoders.ByteLevel()
        alphabet = pre_tokenizers.ByteLevel.alphabet()
    else:
        bpe.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="never")
        bpe.decoder = decoders.Metaspace(prepend_scheme="never")
        alphabet = [chr(c) for c in range(33, 127)] + ["\u2581", "\n"]
    trainer = trainers.BpeTrainer(
        vocab_size=400 if byte_level else 320, special_tokens=["<unk>", "<s>", "</s>"], initial_alphabet=alphabet
    )
    bpe.train_from_iterator(CORPUS, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="</s>"
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=max_positions,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        initializer_range=0.2,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def build_tiny_lora(model_dir: Path, directory: Path, *, seed: int) -> Path:
    """A LoRA adapter with random (non-zero) weights on the attention projections of ``model_dir``."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(model_dir, local_files_only=True)
    torch.manual_seed(seed)
    config = LoraConfig(r=4, lora_alpha=16, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    get_peft_model(base, config).save_pretrained(directory)
    return directory


def write_gguf(path: Path, architecture: str) -> Path:
    """A structurally valid GGUF file declaring ``architecture``, with one dummy tensor."""
    import numpy as np
    from gguf import GGUFWriter

    writer = GGUFWriter(str(path), architecture)
    writer.add_block_count(1)
    writer.add_tensor("dummy", np.zeros(4, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
