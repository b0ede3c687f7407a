"""Training records → token ids with loss targets, packed into fixed-length rows.

A record is one JSON line (puyu/core/records.py): `{"conversation": [{"role", "content", "name"?, "tool_call"?,
"loss"?}], "tools": [...], "interpreter": bool, "meta": {"lang"?, ...}}`. It is rendered by
`InternLM2Protocol.segments`, the same code that builds prompts at inference, and only the segments the model
writes itself (assistant replies and calls, through <|im_end|> / <|action_end|>) of turns whose `loss` is true
(the default for assistant turns) get a target; everything else is -100.

Each segment is tokenized on its own (as XTuner does) so the trained/untrained boundary is exact; the protocol puts
every boundary next to a special token or after "assistant\\n", where byte-level BPE does not merge anyway
(tests/test_training.py checks that the joined ids equal tokenizing the whole text; on the real data and tokenizer
all 3000 conversations checked matched).

Packing puts several conversations in one row of `max_len` tokens with positions that restart at 0 for each; in
transformers 5.x that makes every attention implementation (sdpa and eager on CPU, flash/flex on GPU) build a
block-diagonal causal mask, so a conversation never sees the one packed before it. (Only without a KV cache:
the forward pass must get use_cache=False, as loop.TokenLoss does.)
"""
from __future__ import annotations

import bisect
import json
from dataclasses import dataclass
from pathlib import Path

import torch

from puyu.core.records import Record, segments

IGNORE = -100


class DataError(ValueError):
    """The training data cannot be read; the message says which file and line."""


@dataclass
class Example:
    """One conversation. `targets[t]` is the token position t must predict (`input_ids[t+1]`), or IGNORE.
    int32 tensors: the whole data set stays in memory (12M tokens = ~100 MB instead of gigabytes of lists)."""

    input_ids: torch.Tensor
    targets: torch.Tensor

    def __len__(self) -> int:
        return len(self.input_ids)


@dataclass
class Row:
    """What one batch row holds: one or more whole conversations back to back, each with positions from 0."""

    input_ids: torch.Tensor
    targets: torch.Tensor
    position_ids: torch.Tensor

    @classmethod
    def of(cls, examples: list[Example]) -> Row:
        return cls(torch.cat([e.input_ids for e in examples]), torch.cat([e.targets for e in examples]),
                   torch.cat([torch.arange(len(e), dtype=torch.int32) for e in examples]))

    def __len__(self) -> int:
        return len(self.input_ids)


@dataclass
class EncodeStats:
    records: int = 0
    dropped_no_loss: int = 0
    """Conversations with nothing to learn (no assistant message with loss); they would only cost time."""
    truncated: int = 0
    """Conversations longer than max_len, cut to it."""
    tokens: int = 0
    trained_tokens: int = 0


def read_records(path: str | Path) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such data file")
    records = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{path}:{n}: not valid JSON ({e.msg})") from None
            if not isinstance(record, dict) or not isinstance(record.get("conversation"), list):
                raise DataError(f'{path}:{n}: a record needs a "conversation" list')
            records.append(record)
    if not records:
        raise DataError(f"{path}: no records")
    return records


def _segments(record: dict, style: str) -> list[tuple[str, bool]]:
    """(text, trained) pieces of a record: the data schema's rendering, which applies each turn's `loss` flag."""
    return [(s.text, s.trained) for s in segments(Record.from_dict(record), style)]


def prefix_ids(tokenizer) -> list[int]:
    """Ids the tokenizer itself puts before any text (a BOS for most), so training sees what inference sees."""
    return list(tokenizer("", add_special_tokens=True)["input_ids"])


def _tokenize(tokenizer, texts: list[str]) -> dict[str, list[int]]:
    """Token ids of each distinct text. Headers, "\n" and the system prompts recur in every conversation, so
    tokenizing each once more than halves the work; fast tokenizers go straight to the Rust batch encoder."""
    unique = list(dict.fromkeys(texts))
    if getattr(tokenizer, "is_fast", False):
        encoded = [e.ids for e in tokenizer.backend_tokenizer.encode_batch(unique, add_special_tokens=False)]
    else:
        encoded = tokenizer(unique, add_special_tokens=False)["input_ids"] if unique else []
    return dict(zip(unique, encoded))


def encode(records: list[dict], tokenizer, max_len: int, where: str = "data",
           style: str = "internlm2") -> tuple[list[Example], EncodeStats]:
    """Tokenize records segment by segment, rendered in the tokenizer's prompt `style`; targets only on trained
    segments."""
    stats = EncodeStats(records=len(records))
    pieces = []
    for i, record in enumerate(records):
        try:
            pieces.append(_segments(record, style))
        except (KeyError, TypeError, ValueError) as e:
            raise DataError(f"{where}: record {i + 1} cannot be rendered ({type(e).__name__}: {e})") from None
    ids = _tokenize(tokenizer, [text for segs in pieces for text, _ in segs])
    head = prefix_ids(tokenizer)
    examples = []
    for segs in pieces:
        tokens, trained = list(head), [False] * len(head)
        for text, is_trained in segs:
            tokens += ids[text]
            trained += [is_trained] * len(ids[text])
        # Position t predicts token t+1; the first token of a conversation is never trained, so nothing is
        # ever asked to predict across a packed boundary.
        targets = [tok if keep else IGNORE for tok, keep in zip(tokens[1:], trained[1:])] + [IGNORE]
        if len(tokens) > max_len:
            stats.truncated += 1
            tokens, targets = tokens[:max_len], targets[:max_len]
        n_trained = sum(t != IGNORE for t in targets)
        if n_trained == 0:
            stats.dropped_no_loss += 1
            continue
        stats.tokens += len(tokens)
        stats.trained_tokens += n_trained
        examples.append(Example(torch.tensor(tokens, dtype=torch.int32), torch.tensor(targets, dtype=torch.int32)))
    return examples, stats


def pack(examples: list[Example], max_len: int) -> list[Row]:
    """Best-fit decreasing: longest conversations first, each into the fullest row it still fits in.

    Deterministic (ties broken by index), and typically fills rows to ~99%, against far less for one conversation
    per row padded to the batch's longest.
    """
    order = sorted(range(len(examples)), key=lambda i: (-len(examples[i]), i))
    bins: list[list[Example]] = []
    free: list[tuple[int, int]] = []  # (space left, bin index), sorted: bisect finds the tightest fit
    for i in order:
        size = len(examples[i])
        j = bisect.bisect_left(free, (size, -1))
        if j < len(free):
            space, b = free.pop(j)
        else:
            bins.append([])
            space, b = max_len, len(bins) - 1
        bins[b].append(examples[i])
        if space - size > 0:
            bisect.insort(free, (space - size, b))
    return [Row.of(b) for b in bins]


def unpacked(examples: list[Example]) -> list[Row]:
    """One conversation per row (for models whose attention ignores packed positions, and for the benchmark)."""
    return [Row.of([e]) for e in examples]


def collate(rows: list[Row], pad_id: int, length: int | None = None) -> dict[str, torch.Tensor]:
    """Right-pad rows to one length. No attention mask is needed: the model is causal, so real tokens never see
    the padding after them, and pad positions simply continue the last conversation's (restarting them would
    mark a new packed sequence and cost a masked attention even for unpacked batches)."""
    length = length or max(len(r) for r in rows)
    ids = torch.full((len(rows), length), pad_id, dtype=torch.long)
    targets = torch.full((len(rows), length), IGNORE, dtype=torch.long)
    positions = torch.empty((len(rows), length), dtype=torch.long)
    for i, row in enumerate(rows):
        n = len(row)
        ids[i, :n], targets[i, :n], positions[i, :n] = row.input_ids, row.targets, row.position_ids
        last = int(row.position_ids[-1]) + 1 if n else 0
        positions[i, n:] = torch.arange(last, last + length - n)
    return {"input_ids": ids, "targets": targets, "position_ids": positions}


class RowOrder:
    """An endless, reproducible order of row indices: epoch e is a seeded permutation of all rows.

    Row k of the stream is a pure function of (seed, k), so the batch of any step can be found again after a
    restart (exact resume), and each process takes its own disjoint slice of every step (DistributedSampler-style).
    """

    def __init__(self, n_rows: int, seed: int):
        if n_rows == 0:
            raise DataError("no training rows: every conversation was dropped (none has an assistant turn with loss)")
        self.n_rows, self.seed = n_rows, seed
        self._epoch, self._perm = -1, []

    def __getitem__(self, k: int) -> int:
        epoch, pos = divmod(k, self.n_rows)
        if epoch != self._epoch:
            gen = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
            self._epoch, self._perm = epoch, torch.randperm(self.n_rows, generator=gen).tolist()
        return self._perm[pos]

    def take(self, start: int, count: int) -> list[int]:
        return [self[k] for k in range(start, start + count)]


def check_tokenizer(tokenizer, where: str) -> dict[str, int]:
    """The ids of the protocol's special tokens; each must be one token, or the model cannot emit or stop on it."""
    from puyu.core.protocols.internlm2 import SPECIAL_TOKENS

    ids, bad = {}, []
    for token in SPECIAL_TOKENS:
        encoded = tokenizer(token, add_special_tokens=False)["input_ids"]
        if len(encoded) == 1:
            ids[token] = encoded[0]
        else:
            bad.append(token)
    if bad:
        raise DataError(f"{where}: the tokenizer splits {', '.join(bad)} into several tokens; "
                        "InternLM2's format needs each as one (special) token")
    return ids
