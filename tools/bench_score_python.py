#!/usr/bin/env python3
"""Companion of `fssl bench score`: the per-token loop the paper's public code runs (Python, one
token at a time, full-vocabulary sorts), timed on the same kind of data, next to fssl's batched
scorer, with the ratio.

Per token: vLLM-style top-k / top-p by sorting, Gumbel scores z = l + T G, margin, GM-LS for three
sigmas, the raw-logit rank by argsort, admissible counts for six margins (RR
`gumbel_likelihood_score.py` / `verify.py` style). Needs torch (e.g. the venv of
tests/data/hf/README.md); fssl's figures come from `fssl bench score --json`.

    python tools/bench_score_python.py --fssl build/fssl
"""
import argparse
import json
import math
import subprocess
import time

import torch

SIGMAS = [0.01, 0.1, 1.0]
GRID = [0.0, 0.1, 0.5, 1.0, 2.0, 5.0]


def score_token(l, e, y, temperature, top_k, top_p):
    s = l / temperature
    if top_k > 0:
        kth = torch.sort(s, descending=True).values[top_k - 1]
        s = s.masked_fill(s < kth, float("-inf"))
    sorted_s, order = torch.sort(s)
    cum = torch.softmax(sorted_s, -1).cumsum(-1)
    drop = cum <= 1 - top_p
    drop[-1] = False
    s[order[drop]] = float("-inf")
    z = torch.where(s > float("-inf"), l - temperature * torch.log(e), torch.tensor(float("-inf")))
    zc = z.max()
    margin = float(zc - z[y])
    gmls = [math.log(0.5 * math.erfc(margin / (math.sqrt(2) * sg) / math.sqrt(2)))
            if math.isfinite(margin) and margin < 30 * sg else float("-inf") for sg in SIGMAS]
    rank = int((torch.argsort(l, descending=True) == y).nonzero()[0])
    admissible = [int((zc - z <= d).sum()) for d in GRID]
    return margin, gmls, rank, admissible


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fssl", help="fssl binary: also run `fssl bench score --json` and print the ratio")
    ap.add_argument("--vocab", default="32000,128256")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--top-k", type=int, default=50)
    ap.add_argument("--top-p", type=float, default=0.95)
    args = ap.parse_args()
    fssl = {}
    if args.fssl:
        out = subprocess.run([args.fssl, "bench", "score", "--vocab", args.vocab, "--threads", args.threads,
                              "--top-k", str(args.top_k), "--top-p", str(args.top_p), "--json"],
                             check=True, capture_output=True, text=True)
        for line in out.stdout.splitlines():
            row = json.loads(line)
            fssl[(row["vocab_size"], row["threads"])] = row["tokens_per_s"]
    print("# torch %s, Python per-token loop, T 1, top-k %d, top-p %.2f" % (torch.__version__, args.top_k, args.top_p))
    print("# %8s %8s %16s %16s %8s" % ("V", "threads", "python tok/s", "fssl tok/s", "ratio"))
    torch.manual_seed(1)
    for vocab in [int(v) for v in args.vocab.split(",")]:
        logits = torch.randn(args.tokens, vocab) * 3.0
        noise = torch.empty(args.tokens, vocab).exponential_()
        claimed = torch.randint(vocab, (args.tokens,))
        for threads in [int(t) for t in args.threads.split(",")]:
            torch.set_num_threads(threads)
            score_token(logits[0], noise[0], int(claimed[0]), 1.0, args.top_k, args.top_p)  # warm-up
            start = time.perf_counter()
            for t in range(args.tokens):
                score_token(logits[t], noise[t], int(claimed[t]), 1.0, args.top_k, args.top_p)
            rate = args.tokens / (time.perf_counter() - start)
            ours = fssl.get((vocab, threads))
            print("  %8d %8d %16.1f %16s %8s" % (vocab, threads, rate, "%.1f" % ours if ours else "-",
                                                  "%.1fx" % (ours / rate) if ours else "-"))


if __name__ == "__main__":
    main()
