#!/usr/bin/env python3
"""Golden tokens of SGLang's seeded top-k / top-p sampler (--enable-deterministic-inference, the
torch backend: python/sglang/srt/layers/sampler.py, top_k_top_p_min_p_sampling_from_probs_torch and
multinomial_with_seed), written in a few lines of PyTorch from SGLang's description and the hash of
the PyPI mmh3 package; no fssl code. Debian's python3-torch (1.13) is enough:
    /usr/bin/python3 -m venv --system-site-packages /tmp/tsv && /tmp/tsv/bin/pip install mmh3
    /tmp/tsv/bin/python gen_sglang_sorted_golden.py > sglang_sorted_golden.txt
Logits come from a formula the C++ test repeats (its SHA-256 is checked): family f, case c, column i:
    k = (i * 2654435761 + 97 * c) mod 2^32;  l = float32(k mod M) * step + base
with (M, step, base) = (2000, 0.005, -5) for f = 0 (flat, many exact ties) and (997, 0.02, -10) for f = 1.
One line per case:
    f c V T top_k top_p seed position variant sha256(logits) kept_count token rank_of_token held
(top_k 0 = disabled; variant 0 murmur3, 1 murmur3-capped; held: the dtype the server's lm_head gave
its logits, bf16 in every third case: rounded to bfloat16 before the division, as a bf16 model's
logits are, so that its exact ties decide the order). Ties in probability are ordered by id (a
stable sort), the order SGLang's GPU sort gives rows of these widths (docs/sampler-spec.md §8)."""
import hashlib
import math
import struct

import mmh3
import numpy as np
import torch

FAMILIES = [(2000, 0.005, -5.0), (997, 0.02, -10.0)]


def logits_of(family, case, V):
    modulus, step, base = FAMILIES[family]
    i = np.arange(V, dtype=np.uint64)
    k = (i * np.uint64(2654435761) + np.uint64(97 * case)) % np.uint64(2**32)
    return ((k % np.uint64(modulus)).astype(np.float32) * np.float32(step) + np.float32(base)).astype(np.float32)


def gumbel(seed, position, columns, capped):
    s = seed % 2**64
    out = np.empty(len(columns))
    for j, c in enumerate(columns):
        h = mmh3.hash(struct.pack("<IIII", s & 0xFFFFFFFF, s >> 32, position & 0xFFFFFFFF, c), 0, signed=False)
        t = max(math.log(h / 4294967295.0) if h else -math.inf, -1.7976931348623157e308)
        if capped:
            t = min(t, -(2.0**-32))
        out[j] = -math.log(-t) if t != 0 else math.inf
    return torch.from_numpy(out)


def sglang_sample(l, T, top_k, top_p, seed, position, capped, bf16):
    # SGLang: logits / T, softmax (float32), sort descending, cumulative sum before the top-k cut,
    # ranks >= k zeroed, ranks whose exclusive mass exceeds top_p zeroed, log in float64, Gumbel
    # noise keyed by the sorted column (the rank), first argmax, back to the token id.
    logits = torch.from_numpy(l).unsqueeze(0)
    if bf16:
        logits = logits.to(torch.bfloat16).float()
    probs = torch.softmax(logits / T, dim=-1)
    probs_sort, probs_idx = probs.sort(dim=-1, descending=True, stable=True)
    probs_sum = torch.cumsum(probs_sort, dim=-1)
    k = top_k if top_k > 0 else 1 << 30
    probs_sort[torch.arange(0, probs.shape[-1]).view(1, -1) >= k] = 0.0
    probs_sort[(probs_sum - probs_sort) > top_p] = 0.0
    kept = int((probs_sort > 0).sum())
    logprobs = probs_sort.to(torch.float64).log()
    x = gumbel(seed, position, range(l.shape[0]), capped) + logprobs[0]
    rank = int(torch.argmax(x))
    return kept, int(probs_idx[0, rank]), rank


def main():
    print("# SGLang seeded top-k/top-p golden (gen_sglang_sorted_golden.py, torch %s, mmh3): "
          "f c V T top_k top_p seed position variant sha256 kept token rank held" % torch.__version__)
    settings = [(1.0, 50, 1.0), (0.7, 5, 1.0), (1.3, 0, 0.9), (1.0, 50, 0.95), (0.8, 0, 0.5), (1.0, 1, 1.0),
                (1.0, 20, 0.3)]
    seeds = [42, 7847, 2**64 - 3, 2**63 + 11]
    case = 0
    for V in (64, 1000, 32000):
        for family in (0, 1):
            for T, top_k, top_p in settings:
                for seed in seeds:
                    for capped in (0, 1):
                        case += 1
                        if (case * 7) % 3 == 0 and V == 32000:  # keep the widest rows to two thirds
                            continue
                        position = (case * 131) % 5000 + 3
                        l = logits_of(family, case, V)
                        bf16 = case % 3 == 0
                        kept, token, rank = sglang_sample(l, T, top_k, top_p, seed, position, capped, bf16)
                        print(family, case, V, T, top_k, top_p, "%016x" % seed, position, capped,
                              hashlib.sha256(l.tobytes()).hexdigest(), kept, token, rank, "bf16" if bf16 else "fp32")


if __name__ == "__main__":
    main()
