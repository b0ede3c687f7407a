"""The `transformers` backend: any local Hugging Face checkpoint, on CPU or CUDA, in this process.

Decoding is an explicit loop (prefill, then one token at a time through the KV cache) rather than
`model.generate()` + `TextIteratorStreamer` + a thread: the loop lets stop strings end generation on decoded text,
needs no thread, and measured faster per token (bench/decode.py).
"""
from __future__ import annotations

import inspect
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from puyu.core.card import read_style
from puyu.core.config import GenerationConfig
from puyu.models.base import ChatModel, ModelError, PromptTooLong
from puyu.models.stops import StopCutter

_CONTEXT = 4  # prompt tokens the detokenizer decodes along with the first new ones
_DTYPES = {"float32": "float32", "fp32": "float32", "bfloat16": "bfloat16", "bf16": "bfloat16",
           "float16": "float16", "fp16": "float16", "half": "float16"}


def default_threads() -> int:
    """Torch CPU threads when `ModelSpec.threads` does not say: $PUYU_THREADS, else the physical cores this process
    may run on. Hyper-threads slow matrix work down, so logical cores are not counted.
    """
    env = os.environ.get("PUYU_THREADS", "").strip()
    if env:
        if not env.isdigit() or int(env) < 1:
            raise ModelError(f"PUYU_THREADS must be a positive integer, not {env!r}")
        return int(env)
    import psutil

    allowed = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(psutil.cpu_count(logical=False) or allowed, allowed))


@dataclass
class Usage:
    prompt_tokens: int
    completion_tokens: int


class IncrementalDetokenizer:
    """Turns token ids into text deltas one id at a time, safely for byte-level BPE and SentencePiece.

    A token may hold half of a UTF-8 character; decoding it alone gives U+FFFD. So text is only emitted once the
    decoded window no longer ends in U+FFFD. The window starts a few tokens back (`_prefix`) because SentencePiece
    drops a word's leading space when a decode starts at that word; the delta is the window's text minus the text
    of the part already emitted. `context` (the prompt's last few ids) gives the first new token such a start.
    """

    def __init__(self, tokenizer, skip_ids: set[int], context: list[int] | None = None):
        self.tokenizer = tokenizer
        self.skip_ids = skip_ids
        self.ids: list[int] = [i for i in (context or []) if i not in skip_ids]
        self._prefix = 0               # window start
        self._read = len(self.ids)     # ids before this are already emitted (or are context)

    def _decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False,
                                     spaces_between_special_tokens=False)

    def push(self, token_id: int) -> str:
        if token_id in self.skip_ids:
            return ""
        self.ids.append(token_id)
        done = self._decode(self.ids[self._prefix:self._read])
        text = self._decode(self.ids[self._prefix:])
        if len(text) > len(done) and not text.endswith("\ufffd"):
            self._prefix, self._read = self._read, len(self.ids)
            return text[len(done):]
        return ""

    def flush(self) -> str:
        """Whatever is still held back (an incomplete character at the very end comes out as U+FFFD)."""
        done = self._decode(self.ids[self._prefix:self._read])
        text = self._decode(self.ids[self._prefix:])
        self._prefix = self._read = len(self.ids)
        return text[len(done):]


def _pick_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ModelError("device 'cuda' was asked for, but torch sees no CUDA GPU (use --device cpu)")
    return device


def _pick_dtype(dtype: str, device: str):
    import torch

    if dtype == "auto":
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    if dtype not in _DTYPES:
        raise ModelError(f"unknown dtype {dtype!r}; use auto, float32, bfloat16 or float16")
    return getattr(torch, _DTYPES[dtype])


def _check_checkpoint(path: Path) -> None:
    if not path.exists():
        raise ModelError(f"model path {path} does not exist")
    if not path.is_dir() or not (path / "config.json").is_file():
        raise ModelError(f"{path} is not a Hugging Face checkpoint dir (no config.json in it)")


def _load_error(what: str, path: Path, exc: Exception) -> ModelError:
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "trust_remote_code" in str(exc):
        msg = ("it ships its own modelling code (e.g. InternLM2); load it with trust_remote_code "
               "(--trust-remote-code) if you trust that code")
    return ModelError(f"cannot load {what} from {path}: {msg}")


class HFModel(ChatModel):
    """A causal LM loaded with `AutoModelForCausalLM`, optionally with a peft LoRA adapter merged in."""

    def __init__(self, path: str | Path, *, device: str = "auto", dtype: str = "auto", adapter: str | None = None,
                 trust_remote_code: bool = False, threads: int | None = None):
        import torch
        import transformers
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path = Path(path).expanduser()
        _check_checkpoint(path)
        self.name = path.name
        try:
            self.prompt_style = read_style(path)
        except ValueError as e:
            raise ModelError(str(e)) from e
        self.device = _pick_device(device)
        torch.set_num_threads(threads or default_threads())
        bars = transformers.utils.logging.is_progress_bar_enabled()
        transformers.utils.logging.disable_progress_bar()  # a chat CLI should not draw loading bars
        try:
            try:
                self.tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
            except Exception as e:  # transformers raises many types for a bad dir
                raise _load_error("the tokenizer", path, e) from e
            try:
                model = AutoModelForCausalLM.from_pretrained(path, dtype=_pick_dtype(dtype, self.device),
                                                             trust_remote_code=trust_remote_code)
            except Exception as e:
                raise _load_error("the model", path, e) from e
        finally:
            if bars:
                transformers.utils.logging.enable_progress_bar()
        if adapter:
            model = self._merge_adapter(model, Path(adapter).expanduser())
            self.name = f"{self.name}+{Path(adapter).name}"
        self.model = model.to(self.device).eval()

        params = inspect.signature(self.model.forward).parameters
        # transformers >= 5.? calls the KV cache `cache`; remote-code models still say `past_key_values`.
        self._cache_kw = "cache" if "cache" in params else "past_key_values"
        self._keep_last = {"logits_to_keep": 1} if "logits_to_keep" in params else {}
        self._eos = self._eos_ids()
        tok = self.tokenizer
        self._skip = {i for i in (tok.bos_token_id, tok.pad_token_id, *self._eos) if i is not None}
        self._pad = next(i for i in (tok.pad_token_id, tok.eos_token_id, 0) if i is not None)
        self._max_len = getattr(self.model.config, "max_position_embeddings", None)
        self.last_usage: list[Usage] = []

    @staticmethod
    def _merge_adapter(model, adapter: Path):
        if not (adapter / "adapter_config.json").is_file():
            raise ModelError(f"adapter {adapter} is not a peft adapter dir (no adapter_config.json in it)")
        try:
            from peft import PeftModel

            # Merged, because inference never needs the separate LoRA matrices and merged decoding is faster.
            return PeftModel.from_pretrained(model, adapter).merge_and_unload()
        except Exception as e:
            raise _load_error("the adapter", adapter, e) from e

    def _eos_ids(self) -> set[int]:
        ids = {self.tokenizer.eos_token_id}
        gen_eos = getattr(getattr(self.model, "generation_config", None), "eos_token_id", None)
        ids.update(gen_eos if isinstance(gen_eos, (list, tuple)) else [gen_eos])
        return {i for i in ids if i is not None}

    # ---- public API -----------------------------------------------------------------------------------------

    def stream(self, prompt: str, gen: GenerationConfig) -> Iterator[str]:
        for deltas in self._decode([prompt], gen):
            if deltas[0]:
                yield deltas[0]

    def generate(self, prompts: list[str], gen: GenerationConfig) -> list[str]:
        if not prompts:
            return []
        out = [""] * len(prompts)
        for deltas in self._decode(prompts, gen):
            for i, d in enumerate(deltas):
                out[i] += d
        return out

    def count_tokens(self, text: str, prompt: bool = False) -> int:
        if prompt:
            return len(self._encode([text])[0]) if text else 0
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def apply_chat_template(self, messages: list[dict]) -> str:
        if not getattr(self.tokenizer, "chat_template", None):
            raise ModelError(f"{self.name} has no chat_template in its tokenizer config")
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def close(self) -> None:
        import torch

        self.model = None
        if self.device.startswith("cuda"):
            torch.cuda.empty_cache()

    # ---- the decode loop ------------------------------------------------------------------------------------

    def _encode(self, prompts: list[str]) -> list[list[int]]:
        """Each prompt's ids; `<s>` is added unless the prompt has it."""
        bos = self.tokenizer.bos_token
        rows = []
        for p in prompts:
            ids = self.tokenizer(p, add_special_tokens=not (bos and p.startswith(bos)))["input_ids"]
            if not ids:
                raise ModelError("the prompt is empty")
            if self._max_len and len(ids) >= self._max_len:
                raise PromptTooLong(f"the prompt is {len(ids)} tokens; {self.name} takes at most {self._max_len}")
            rows.append(ids)
        return rows

    def _prefill_shared(self, rows: list[list[int]]):
        """Run the prefix all rows share once (few-shot examples, a system prompt) and copy its KV cache to every
        row, so each row's prefill covers only its own suffix. Returns (cache, prefix length); (None, 0) when
        there is nothing worth sharing."""
        import torch

        shared = len(rows[0]) - 1  # every row keeps at least one token of its own
        for r in rows[1:]:
            shared = min(shared, len(r) - 1)
            shared = next((i for i in range(shared) if r[i] != rows[0][i]), shared)
        if len(rows) < 2 or shared < MIN_SHARED_PREFIX:
            return None, 0
        with torch.inference_mode():
            out = self.model(input_ids=torch.tensor([rows[0][:shared]], device=self.device), use_cache=True,
                             **self._keep_last)
        cache = out.get(self._cache_kw)
        if cache is None or not hasattr(cache, "batch_repeat_interleave"):
            return None, 0
        cache.batch_repeat_interleave(len(rows))
        return cache, shared

    def _decode(self, prompts: list[str], gen: GenerationConfig) -> Iterator[list[str]]:
        """Yield, per step, one text delta per prompt ("" for rows with nothing new or already finished)."""
        import torch

        if self.model is None:
            raise ModelError(f"{self.name} was closed")
        prompt_ids = self._encode(prompts)
        lengths = [len(r) for r in prompt_ids]
        cache, shared = self._prefill_shared(prompt_ids)
        rest = [r[shared:] for r in prompt_ids]  # left-padded below: pads sit between the prefix and the rest
        rows, width = len(rest), shared + max(len(r) for r in rest)
        ids = torch.tensor([[self._pad] * (width - shared - len(r)) + r for r in rest], device=self.device)
        budget = gen.max_new_tokens
        if self._max_len:
            budget = min(budget, self._max_len - width)
        # Without padding the model's own causal mask is enough (and cheaper to build every step).
        padded = min(len(r) for r in rest) < width - shared
        mask = positions = None
        if padded:  # grown by slicing
            mask = torch.tensor([[1] * shared + [0] * (width - shared - len(r)) + [1] * (len(r) + budget)
                                 for r in rest], device=self.device)
            positions = (mask[:, :width].cumsum(-1) - 1).clamp(min=0)[:, shared:]
        elif shared:
            positions = torch.arange(shared, width, device=self.device).expand(rows, -1)
        detoks = [IncrementalDetokenizer(self.tokenizer, self._skip, r[-_CONTEXT:]) for r in prompt_ids]
        cutters = [StopCutter(gen.stop) for _ in range(rows)]
        done = [False] * rows
        counts = [0] * rows
        rng = None
        if gen.temperature > 0 and gen.seed is not None:
            rng = torch.Generator(device=self.device).manual_seed(gen.seed)
        self.last_usage = [Usage(n, 0) for n in lengths]
        for step in range(budget):
            with torch.inference_mode():
                out = self.model(input_ids=ids, attention_mask=None if mask is None else mask[:, :width + step],
                                 position_ids=positions, use_cache=True, **{self._cache_kw: cache},
                                 **self._keep_last)
                cache = out.get(self._cache_kw)
                if cache is None:
                    raise ModelError(f"{self.name} returned no KV cache; it cannot be decoded incrementally")
                next_ids = _choose(out.logits[:, -1, :], gen, rng)
            deltas = [""] * rows
            for r, tid in enumerate(next_ids.tolist()):
                if done[r]:
                    continue
                if tid in self._eos:
                    deltas[r] = cutters[r].push(detoks[r].flush()) + cutters[r].flush()
                    done[r] = True
                    continue
                counts[r] += 1
                deltas[r] = cutters[r].push(detoks[r].push(tid))
                done[r] = cutters[r].done
            self.last_usage = [Usage(n, c) for n, c in zip(lengths, counts)]
            if all(done):
                yield deltas
                return
            if step == budget - 1:  # out of tokens: release what was held back
                for r in range(rows):
                    if not done[r]:
                        deltas[r] += cutters[r].push(detoks[r].flush()) + cutters[r].flush()
            yield deltas
            ids = next_ids[:, None]
            if positions is not None:
                positions = positions[:, -1:] + 1


MIN_SHARED_PREFIX = 32
"""Tokens a batch's prompts must share before their common prefix is run once for all (below it the extra forward
pass costs more than it saves)."""


def _choose(logits, gen: GenerationConfig, rng):
    """Greedy at temperature 0, else nucleus sampling."""
    import torch

    if gen.temperature == 0:
        return logits.argmax(-1)
    probs = torch.softmax(logits.float() / gen.temperature, dim=-1)
    if gen.top_p < 1:
        sorted_p, order = probs.sort(dim=-1, descending=True)
        # drop a token once the mass before it already reaches top_p; the top token always stays
        drop = (sorted_p.cumsum(-1) - sorted_p) >= gen.top_p
        sorted_p = sorted_p.masked_fill(drop, 0)
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_p)
    return torch.multinomial(probs, 1, generator=rng).squeeze(-1)
