#!/usr/bin/env python3
"""Companion of `fssl bench prefill`: the same model, inputs and thread counts through Hugging Face
transformers' forward, and the throughput ratio fssl / transformers, measured side by side.

Needs torch and transformers (not part of fssl's dependencies; e.g. a venv with
`pip install torch transformers`). Inputs are fssl's: sequence s has
32 + ((s * 2654435761 + 7) mod 2^32) mod (length - 31) tokens (or exactly `length` with
--fixed-length), token i of the concatenation is (i * 2654435761 + 12345) mod V. fssl packs the
sequences; transformers gets them as one right-padded batch with an attention mask (how a batched
HF verifier runs variable-length messages). Both compute float32 logits at every position.

    python3 tools/bench_transformers.py --model DIR --fssl build/fssl --threads 1,2
"""
import argparse
import json
import subprocess
import time

import torch
from transformers import AutoModelForCausalLM


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--fssl", help="fssl binary: also run `fssl bench prefill --json` and print the ratio")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--sequences", type=int, default=8)
    ap.add_argument("--length", type=int, default=512)
    ap.add_argument("--fixed-length", action="store_true")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--attn", default="sdpa", help="transformers attention implementation (sdpa, eager)")
    args = ap.parse_args()

    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32, attn_implementation=args.attn)
    model.eval()
    vocab = model.config.vocab_size
    lengths = [args.length if args.fixed_length or args.length <= 32 else
               32 + ((s * 2654435761 + 7) % 2**32) % (args.length - 31) for s in range(args.sequences)]
    n = sum(lengths)
    flat = [(i * 2654435761 + 12345) % vocab for i in range(n)]
    ids = torch.zeros(args.sequences, max(lengths), dtype=torch.long)
    mask = torch.zeros(args.sequences, max(lengths), dtype=torch.long)
    start = 0
    for s, length in enumerate(lengths):
        ids[s, :length] = torch.tensor(flat[start:start + length])
        mask[s, :length] = 1
        start += length
    fssl = {}
    if args.fssl:
        out = subprocess.run([args.fssl, "bench", "prefill", "--model", args.model, "--threads", args.threads,
                              "--sequences", str(args.sequences), "--length", str(args.length),
                              "--repeats", str(args.repeats), "--json"] + (["--fixed-length"] if args.fixed_length else []),
                             check=True, capture_output=True, text=True)
        for line in out.stdout.splitlines():
            row = json.loads(line)
            fssl[row["threads"]] = row
    print("# transformers %s, torch %s, %s attention, %d sequences, %d tokens (padded batch %d x %d)" % (
        __import__("transformers").__version__, torch.__version__, args.attn, args.sequences, n, args.sequences,
        max(lengths)))
    print("# %8s %16s %12s %8s" % ("threads", "transformers tok/s", "fssl tok/s", "ratio"))
    for threads in [int(t) for t in args.threads.split(",")]:
        torch.set_num_threads(threads)
        with torch.inference_mode():
            model(ids, attention_mask=mask)  # warm-up
            best = float("inf")
            for _ in range(args.repeats):
                start = time.perf_counter()
                model(ids, attention_mask=mask).logits.float()
                best = min(best, time.perf_counter() - start)
        hf = n / best
        ours = fssl.get(threads, {}).get("tokens_per_s")
        print("  %8d %16.1f %12s %8s" % (threads, hf, "%.1f" % ours if ours else "-", "%.2f" % (ours / hf) if ours else "-"))


if __name__ == "__main__":
    main()
