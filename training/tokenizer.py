"""Train puyu's tokenizer: byte-level BPE on the rendered training conversations.

    python -m puyu.training.tokenizer --data data/agent/train.jsonl --out data/tokenizer --vocab-size 6000

InternLM2's chat tokens (<|im_start|> ...) are single tokens (those a tool call is written with are not *special*,
so that servers which drop special tokens still return them), digits are split one per token (a tiny
model does arithmetic on digit sequences far better than on arbitrary merges), and any byte can be encoded, so
Chinese needs no separate vocabulary. The result is a PreTrainedTokenizerFast folder with a Jinja
`chat_template` that renders exactly what InternLM2Protocol renders (tests/test_tokenizer.py checks it).
"""
from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from puyu.core.card import check_style, write_style
from puyu.core.dataclass_cli import parse
from puyu.core.protocols.base import load_prompts
from puyu.core.protocols.internlm2 import ACTION_TOKENS, API_PREFIX, IM_END, IM_START, PROMPT_FILES, SPECIAL_TOKENS

BOS, EOS, PAD, UNK = "<s>", "</s>", "<pad>", "<unk>"
# Ids 0..9 in this order: tokens that must never be split or merged.
ALL_SPECIAL = [UNK, BOS, EOS, PAD, *SPECIAL_TOKENS]
CHAT_SPECIAL = [IM_START, IM_END]
"""The chat tokens that stay special; the others (ACTION_TOKENS) are plain added tokens, see plain_action_tokens."""


@dataclass
class TokenizerConfig:
    """Train the byte-level BPE tokenizer on the rendered training data."""

    data: Path = Path("data/agent/train.jsonl")
    """Training conversations (training/data/build.py output)."""
    out: Path = Path("data/tokenizer")
    """Folder for the PreTrainedTokenizerFast files."""
    vocab_size: int = 6000
    """Size of the vocabulary, special tokens and the 256 bytes included."""
    min_frequency: int = 2
    """A pair must occur this often to be merged."""
    prompt_style: str = "internlm2"
    """System prompts the conversations are rendered with (agent/prompts): internlm2, or compact for a small model.
    Written to puyu.json beside the tokenizer; training and the exported model follow it."""
    max_conversations: int = 0
    """Train on at most this many conversations (0: all)."""

    def __post_init__(self):
        if self.vocab_size < len(ALL_SPECIAL) + 256 + 10:
            raise ValueError(f"vocab_size must be at least {len(ALL_SPECIAL) + 266}")
        check_style(self.prompt_style, "--prompt-style")
        self.data, self.out = Path(self.data), Path(self.out)


# ---- the chat template ----------------------------------------------------------------------------------

TEMPLATE_FILE = "internlm2_chat.jinja"
"""training/templates/: InternLM2's format in Jinja, with @...@ holes for one prompt style's system prompts."""


def chat_template(style: str = "internlm2") -> str:
    """InternLM2's format in Jinja, with the agent's system prompts (both languages, of a prompt style) written in.

    It renders puyu's conversations (lagent tool schemas, `tool_call`, environment turns) and OpenAI ones (function
    tools, `tool_calls` with dict or JSON-string arguments, `tool` messages) as InternLM2Protocol does, so that a
    server rendering it (transformers serve, llama.cpp, vLLM) prompts the model as puyu does in process.
    Variables: see the template's header."""
    from lagent.actions.parser import JsonParser  # the parameter note lagent adds to every tool schema

    head, tail = API_PREFIX.split("{tool_name}")
    mid, end = tail.split("{description}")
    assert end == "", "API_PREFIX must end with {description}"
    if style == "compact":  # `name(required, ...): first sentence` per line
        line = ("[t.name + '(' + t.required | join(', ') + '): ' + t.description.split('. ')[0]]")
        listing = "listing.items | join('\\n')"
    else:  # lagent's JSON list, required parameters only
        line = (f"[dict(t, description={json.dumps(head)} + t.name.split('.')[0] + {json.dumps(mid)} + t.description,"
                " parameters=t.parameters | selectattr('name', 'in', t.required) | list)]")
        listing = "listing.items | tojson(indent=4)"
    holes = {"@PROMPTS@": json.dumps(load_prompts(PROMPT_FILES[style]), ensure_ascii=True),
             "@PARAMETER_DESCRIPTION@": json.dumps(JsonParser.PARAMETER_DESCRIPTION),
             "@TOOL_LINE@": "    {%- set listing.items = listing.items + " + line + " -%}",
             "@TOOL_LIST@": listing}
    text = resources.files("puyu.training").joinpath("templates", TEMPLATE_FILE).read_text("utf-8")
    for hole, value in holes.items():
        text = text.replace(hole, value)
    return text


# ---- training -------------------------------------------------------------------------------------------

def training_texts(path: Path, limit: int = 0, style: str = "internlm2") -> Iterator[str]:
    """The conversations as the model will read them (InternLM2 text, system turns included)."""
    from puyu.core.records import read_jsonl, render

    for i, record in enumerate(read_jsonl(path)):
        if limit and i >= limit:
            return
        yield render(record, style)


def train(texts: Iterable[str], vocab_size: int = 6000, min_frequency: int = 2, progress: bool = True,
          style: str = "internlm2"):
    """A PreTrainedTokenizerFast trained on `texts`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=ALL_SPECIAL,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=progress)
    tok.train_from_iterator(texts, trainer)
    tok = plain_action_tokens(tok)
    # Every sequence starts with <s>, as in InternLM2; training and inference both get it from here.
    tok.post_processor = processors.TemplateProcessing(single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B",
                                                       special_tokens=[(BOS, tok.token_to_id(BOS))])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=BOS, eos_token=EOS, pad_token=PAD,
                                   unk_token=UNK, additional_special_tokens=CHAT_SPECIAL,
                                   clean_up_tokenization_spaces=False, model_max_length=1024)
    fast.chat_template = chat_template(style)
    return fast


def plain_action_tokens(tok):
    """The same tokenizer (same ids, same splits), with the tool-call tokens (ACTION_TOKENS) as added tokens that
    are not special: a server that skips special tokens when it decodes still returns them, as the calls need."""
    from tokenizers import Tokenizer

    data = json.loads(tok.to_str())
    for token in data["added_tokens"]:
        if token["content"] in ACTION_TOKENS:
            token["special"] = False
    return Tokenizer.from_str(json.dumps(data))


def save(tokenizer, out: Path) -> None:
    """save_pretrained, with the chat template inside tokenizer_config.json and the generic class name, so that
    older transformers releases (and tools built on them) load the folder too."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(out, save_jinja_files=False)
    path = out / "tokenizer_config.json"
    config = json.loads(path.read_text("utf-8"))
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    config["chat_template"] = tokenizer.chat_template
    config["additional_special_tokens"] = CHAT_SPECIAL
    path.write_text(json.dumps(config, ensure_ascii=False, indent=2) + "\n", "utf-8")


def length_stats(tokenizer, texts: list[str], context: int = 1024) -> dict:
    lengths = [len(ids) for ids in tokenizer(texts, add_special_tokens=True)["input_ids"]]
    if not lengths:
        return {}
    lengths.sort()
    return {"conversations": len(lengths), "tokens": sum(lengths), "mean": round(statistics.mean(lengths), 1),
            "p50": lengths[len(lengths) // 2], "p95": lengths[int(len(lengths) * 0.95)], "max": lengths[-1],
            f"over_{context}": sum(n > context for n in lengths),
            "chars_per_token": round(sum(map(len, texts)) / sum(lengths), 2)}


def main(argv: list[str] | None = None) -> int:
    cfg = parse(TokenizerConfig, argv, prog="python -m puyu.training.tokenizer")
    if not cfg.data.exists():
        print(f"error: {cfg.data} not found; build it first: python -m puyu.training.data.build --out {cfg.data.parent}",
              file=sys.stderr)
        return 2
    texts = list(training_texts(cfg.data, cfg.max_conversations, cfg.prompt_style))
    if not texts:
        print(f"error: {cfg.data} holds no conversations", file=sys.stderr)
        return 2
    tokenizer = train(texts, cfg.vocab_size, cfg.min_frequency, style=cfg.prompt_style)
    save(tokenizer, cfg.out)
    write_style(cfg.out, cfg.prompt_style)
    stats = {"vocab_size": len(tokenizer), "special_ids": {t: tokenizer.convert_tokens_to_ids(t) for t in ALL_SPECIAL},
             "train_data": str(cfg.data), **length_stats(tokenizer, texts)}
    (cfg.out / "tokenizer_stats.json").write_text(json.dumps(stats, indent=2), "utf-8")
    print(json.dumps(stats, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
