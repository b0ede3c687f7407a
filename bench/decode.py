"""Decode speed of the transformers backend, one stream, against HF `generate()` measured in the same run.

    python bench/decode.py                         # random weights in a tiny shape (hidden 64, 2 layers)
    python bench/decode.py --size small            # a bigger random one (hidden 512, 8 layers)
    python bench/decode.py models/bundled/puyu-tiny --random-weights   # the bundled model's shape and vocabulary
    python bench/decode.py /path/to/checkpoint --max-new-tokens 256 --out runs/decode.json

The random models have the bundled model's architecture and tokenizer (bench/harness.py). A trained checkpoint
ends its reply at EOS: puyu decodes first and the HF methods are then held to the same number of tokens, which
is printed; with --random-weights the checkpoint's weights are replaced, so every method decodes the full
--max-new-tokens (the weights do not change the speed).

Methods, all greedy, same prompt, same number of new tokens:
- puyu_stream:        HFModel.stream (explicit prefill + KV-cache loop, incremental detokenisation, stop check)
- hf_generate_stream: model.generate(streamer=TextIteratorStreamer) in a thread, the usual HF streaming recipe
                      (the baseline)
- hf_generate:        model.generate() without a streamer, the non-streaming upper bound
"first ms" is the time to the first non-empty text; on a random model it includes tokens held back because they
are partial UTF-8 (puyu) or partial words (TextIteratorStreamer).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from harness import llama_shape, random_weights

SIZES = {"tiny": (64, 2), "small": (512, 8)}  # hidden size, layers
PROMPT = "<|im_start|>user\nWrite a short poem about the sea.<|im_end|>\n<|im_start|>assistant\n"
BASELINE = "hf_generate_stream"


def run_puyu(model, prompt, n):
    from puyu.core.config import GenerationConfig

    start = time.perf_counter()
    first = None
    for _ in model.stream(prompt, GenerationConfig(max_new_tokens=n)):  # yields only non-empty text
        first = first or time.perf_counter()
    end = time.perf_counter()
    return model.last_usage[0].completion_tokens, end - start, (first or end) - start


def run_hf(model, prompt, n, streaming):
    import torch
    from transformers import TextIteratorStreamer

    hf, tok = model.model, model.tokenizer
    enc = tok(prompt, return_tensors="pt").to(model.device)
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    kw = {"max_new_tokens": n, "min_new_tokens": n, "do_sample": False, "pad_token_id": pad}
    start = time.perf_counter()
    if not streaming:
        with torch.inference_mode():
            out = hf.generate(**enc, **kw)
        end = time.perf_counter()
        return out.shape[1] - enc["input_ids"].shape[1], end - start, end - start
    streamer = TextIteratorStreamer(tok, skip_prompt=True)
    result = {}

    def work():
        with torch.inference_mode():
            result["out"] = hf.generate(**enc, **kw, streamer=streamer)

    thread = threading.Thread(target=work)
    thread.start()
    first = None
    for text in streamer:  # the streamer also hands out empty strings; only text counts as "first"
        if text and first is None:
            first = time.perf_counter()
    thread.join()
    end = time.perf_counter()
    return result["out"].shape[1] - enc["input_ids"].shape[1], end - start, (first or end) - start


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path", nargs="?", help="HF checkpoint dir (default: random weights in --size's shape)")
    ap.add_argument("--size", choices=sorted(SIZES), default="tiny", help="the random model's shape, without a path")
    ap.add_argument("--random-weights", action="store_true",
                    help="the checkpoint's shape and tokenizer with fresh random weights (decodes to the end)")
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--dtype", default="auto")
    ap.add_argument("--threads", type=int, help="torch CPU threads (default: $PUYU_THREADS or physical cores)")
    ap.add_argument("--prompt", default=PROMPT)
    ap.add_argument("--out", help="write the results as JSON here")
    args = ap.parse_args(argv)
    if args.threads:
        os.environ["PUYU_THREADS"] = str(args.threads)

    import torch

    from puyu.models import BUNDLED_MODEL
    from puyu.models.hf import HFModel

    with tempfile.TemporaryDirectory() as tmp:
        if args.path and not args.random_weights:
            path = args.path
        elif args.path:
            path = random_weights(args.path, Path(tmp) / "random")
        else:
            path = random_weights(BUNDLED_MODEL, Path(tmp) / args.size, **llama_shape(*SIZES[args.size]))
        model = HFModel(path, device=args.device, dtype=args.dtype)
        # A reply that ends at EOS sets the count: the HF methods generate exactly as many tokens (min_new_tokens).
        n = run_puyu(model, args.prompt, args.max_new_tokens)[0]
        methods = {"puyu_stream": lambda: run_puyu(model, args.prompt, n),
                   BASELINE: lambda: run_hf(model, args.prompt, n, streaming=True),
                   "hf_generate": lambda: run_hf(model, args.prompt, n, streaming=False)}
        for fn in methods.values():  # warm-up: allocator, kernels, lazy imports
            fn()
        runs = {name: [] for name in methods}
        for _ in range(args.repeats):  # interleaved, so drift in machine load hits every method alike
            for name, fn in methods.items():
                runs[name].append(fn())

    rows = []
    for name, rs in runs.items():
        tps = [t / s for t, s, _ in rs]
        rows.append({"method": name, "new_tokens": rs[0][0], "tokens_per_s": statistics.median(tps),
                     "tokens_per_s_best": max(tps), "tokens_per_s_all": tps, "first_token_ms": statistics.median(f * 1000 for _, _, f in rs)})
    base = next(r["tokens_per_s"] for r in rows if r["method"] == BASELINE)
    for r in rows:
        r["vs_baseline"] = r["tokens_per_s"] / base
    name = f"random {args.size} (hidden, layers) {SIZES[args.size]}" if not args.path else args.path
    info = {"checkpoint": name + (" with random weights" if args.path and args.random_weights else ""),
            "params": sum(p.numel() for p in model.model.parameters()), "device": model.device,
            "dtype": str(next(model.model.parameters()).dtype), "threads": torch.get_num_threads(),
            "max_new_tokens": n, "repeats": args.repeats, "torch": torch.__version__,
            "cpu": platform.processor() or platform.machine(), "baseline": BASELINE}

    stopped = f" (the reply ends at EOS; asked for {args.max_new_tokens})" if n < args.max_new_tokens else ""
    print(f"{info['checkpoint']}: {info['params'] / 1e6:.2f} M params, {info['device']} {info['dtype']}, "
          f"{info['threads']} threads, {n} new tokens{stopped}, median and best of {args.repeats}")
    print(f"{'method':<20}{'tokens':>8}{'tok/s':>10}{'best':>10}{'first ms':>10}{'vs base':>9}")
    for r in rows:
        print(f"{r['method']:<20}{r['new_tokens']:>8}{r['tokens_per_s']:>10.1f}{r['tokens_per_s_best']:>10.1f}"
              f"{r['first_token_ms']:>10.1f}{r['vs_baseline']:>8.2f}x")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"info": info, "results": rows}, indent=2))
    return rows


if __name__ == "__main__":
    from puyu.models.base import ModelError

    try:
        main()
    except ModelError as e:
        sys.exit(f"error: {e}")
