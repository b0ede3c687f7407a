"""A tiny random Llama checkpoint with a byte-level BPE tokenizer that knows InternLM2's special tokens.

Tests that need "a model" call `build_tiny_checkpoint(tmp_path)`: it writes a real Hugging Face checkpoint dir
(config.json, model.safetensors, tokenizer.json, tokenizer_config.json, generation_config.json) in about a second,
offline. The weights are random, so the text is gibberish, but it is deterministic for a given seed.
"""
from __future__ import annotations

from pathlib import Path

# InternLM2's chat-format tokens, in the order InternLM2 numbers them after its base vocabulary.
SPECIAL_TOKENS = ["<|im_start|>", "<|im_end|>", "<|action_start|>", "<|action_end|>", "<|interpreter|>", "<|plugin|>"]

# An InternLM2-style chat template, so `apply_chat_template` has something real to render.
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

# Training text: English, Chinese and tool-call-shaped lines, so merges cover multi-byte characters
# and the model's random outputs include tokens that are partial UTF-8 sequences.
_CORPUS = [
    "Hello world! The quick brown fox jumps over the lazy dog.",
    "def add(a, b):\n    return a + b\nprint(add(1, 2))",
    '{"name": "search", "parameters": {"query": "weather in Shanghai"}}',
    "你好，世界！今天天气很好。我们一起去公园散步吧。",
    "书生浦语是一个聊天助手，它可以调用工具和代码解释器。",
    "Observation: the result is 42. Final answer: 42.",
    "user\nWhat is 2 + 2?\nassistant\nIt is 4.",
]


def build_tiny_tokenizer():
    """A `PreTrainedTokenizerFast` trained on a few strings: byte-level BPE, `<s>` prepended, six chat tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<unk>", "<s>", "</s>", *SPECIAL_TOKENS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(_CORPUS * 4, trainer)
    bos = tok.token_to_id("<s>")
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B",
                                                       special_tokens=[("<s>", bos)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                   additional_special_tokens=SPECIAL_TOKENS, clean_up_tokenization_spaces=False)
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_tiny_checkpoint(path: str | Path, *, hidden_size: int = 64, num_layers: int = 2,
                          seed: int = 0) -> Path:
    """Write a random LlamaForCausalLM + tokenizer to `path` (created if needed) and return `path`.

    `hidden_size`/`num_layers` may be raised to make a less trivial model for benchmarks.
    """
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tiny_tokenizer()
    tokenizer.save_pretrained(path)
    heads = max(2, hidden_size // 16)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers, num_attention_heads=heads, num_key_value_heads=max(1, heads // 2),
        max_position_embeddings=2048, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=None, tie_word_embeddings=False,
        # Wider than the usual 0.02 so logits are peaked: greedy choices are then stable across padding and batching.
        initializer_range=0.2,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(bos_token_id=config.bos_token_id, eos_token_id=config.eos_token_id)
    model.save_pretrained(path)
    return path
