"""Decode speed of the transformers backend, one stream, against HF `generate()` measured in the same run.

    python bench/decode.py                         # a random tiny checkpoint built on the fly
    python bench/decode.py --size small            # a bigger random one (hidden 512, 8 layers)
    python bench/decode.py /path/to/checkpoint --max-new-tokens 256 --out runs/decode.json

Methods, all greedy, same prompt, same number of new tokens (EOS is ignored so every method runs to the end):
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SIZES = {"tiny": {"hidden_size": 64, "num_layers": 2}, "small": {"hidden_size": 512, "num_layers": 8}}
PROMPT = "<|im_start|>user\nWrite a short poem about the sea.<|im_end|>\n<|im_start|>assistant\n"
BASELINE = "hf_generate_stream"


def run_puyu(model, prompt, n):
    from puyu.models.base import GenerationConfig

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
    kw = {"max_new_tokens": n, "min_new_tokens": n, "do_sample": False, "pad_token_id": model._pad}
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
    ap.add_argument("path", nargs="?", help="HF checkpoint dir (default: build a random one, see --size)")
    ap.add_argument("--size", choices=sorted(SIZES), default="tiny")
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
    from puyu.models.hf import HFModel

    from tests.tiny_model import build_tiny_checkpoint

    with tempfile.TemporaryDirectory() as tmp:
        path = args.path or build_tiny_checkpoint(Path(tmp) / args.size, **SIZES[args.size])
        model = HFModel(path, device=args.device, dtype=args.dtype)
        model._eos = set()  # run every method to max_new_tokens (HF side: min_new_tokens)
        n = args.max_new_tokens
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
    info = {"checkpoint": str(args.path or f"random {args.size} {SIZES[args.size]}"),
            "params": sum(p.numel() for p in model.model.parameters()), "device": model.device,
            "dtype": str(next(model.model.parameters()).dtype), "threads": torch.get_num_threads(),
            "max_new_tokens": n, "repeats": args.repeats, "torch": torch.__version__,
            "cpu": platform.processor() or platform.machine(), "baseline": BASELINE}

    print(f"{info['checkpoint']}: {info['params'] / 1e6:.2f} M params, {info['device']} {info['dtype']}, "
          f"{info['threads']} threads, {n} new tokens, median and best of {args.repeats}")
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
