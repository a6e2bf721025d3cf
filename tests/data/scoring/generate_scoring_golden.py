#!/usr/bin/env python3
"""Golden FSSL scores from a direct, naive implementation (one token at a time, full vocabulary).

Independent of fssl's C++: the filters follow vLLM V1's PyTorch-native sampler literally
(vllm/v1/sample/ops/topk_topp_sampler.py apply_top_k_top_p: sort ascending, top-k by the k-th
largest value with ties kept, top-p by the float32 ascending cumulative sum <= 1 - p with the
largest kept; min-p on softmax probabilities), the scores follow verification-math.md §4.5-§4.8
and §6. Random logits and Exp(1) noise; cases cover ties at the top-k boundary, top-p keeping
only the largest token, min-p, temperature 0 (greedy), filtered claimed tokens (far in the tail
and just outside the filter boundary; margins by the boundary-aware definition of scoring.h) and V not
a multiple of 4 or 256.

Regenerate (needs torch and safetensors, e.g. the venv of tests/data/hf/README.md):
    /tmp/hfvenv/bin/python tests/data/scoring/generate_scoring_golden.py
"""
import json
import math
import os

import torch
from safetensors.torch import save_file

V = 1003
SIGMAS = [0.01, 0.1, 1.0]
GRID = [0.0, 0.1, 0.5, 1.0, 2.0, 5.0]
THRESHOLD = 1.0
RANK_CUTOFF = 32
NEG_INF = float("-inf")

CASES = [
    dict(name="rr_default", temperature=1.0, top_k=50, top_p=0.95, min_p=0.0),
    dict(name="top_p_only", temperature=0.7, top_k=0, top_p=0.9, min_p=0.0),
    dict(name="min_p", temperature=1.0, top_k=0, top_p=1.0, min_p=0.05),
    dict(name="top_k_ties", temperature=1.3, top_k=20, top_p=1.0, min_p=0.0, ties=True),
    dict(name="top_p_largest_only", temperature=1.0, top_k=0, top_p=0.01, min_p=0.0),
    dict(name="greedy", temperature=0.0, top_k=50, top_p=0.9, min_p=0.0),
    dict(name="no_filters", temperature=1.0, top_k=0, top_p=1.0, min_p=0.0),
    dict(name="all_filters", temperature=0.8, top_k=100, top_p=0.8, min_p=0.02),
    # A wide, flat row and top-p near 1 without top-k: the kept set holds thousands of tokens, so
    # a vocab-parallel top-p must widen its candidate lists several times.
    dict(name="wide_flat_top_p", temperature=1.0, top_k=0, top_p=0.99, min_p=0.0, V=8009, rows=2, scale=0.5),
    dict(name="wide_top_p", temperature=0.9, top_k=0, top_p=0.9, min_p=0.0, V=8009, rows=2, scale=2.0),
    # transformers' warper order (hf-torch-cpu): min-p after top-k and top-p; filtered by
    # transformers' own warper classes below, not by a re-implementation.
    dict(name="hf_order", temperature=0.9, top_k=40, top_p=0.85, min_p=0.2, min_p_last=True),
    dict(name="hf_order_no_top_k", temperature=1.1, top_k=0, top_p=0.7, min_p=0.3, min_p_last=True),
]
ROWS = 8


def hf_filter(logits_row, c):
    """The kept mask of one row through transformers' own warpers, in generate()'s order."""
    from transformers.generation.logits_process import (MinPLogitsWarper, TemperatureLogitsWarper,
                                                        TopKLogitsWarper, TopPLogitsWarper)
    s = logits_row.unsqueeze(0)
    warpers = [TemperatureLogitsWarper(c["temperature"])]
    if c["top_k"] > 0:
        warpers.append(TopKLogitsWarper(c["top_k"]))
    if c["top_p"] < 1:
        warpers.append(TopPLogitsWarper(c["top_p"]))
    if c["min_p"] > 0:
        warpers.append(MinPLogitsWarper(c["min_p"]))
    for w in warpers:
        s = w(None, s)
    s = s[0]
    return s, s != NEG_INF


def vllm_filter(logits_row, c):
    """The kept mask of one row, vLLM V1 order: temperature, min-p, top-k, top-p."""
    if c.get("min_p_last"):
        return hf_filter(logits_row, c)
    V = logits_row.shape[0]
    s = logits_row / c["temperature"]
    keep = torch.ones(V, dtype=torch.bool)
    if c["min_p"] > 0:
        probs = torch.softmax(s, -1)
        keep &= probs >= c["min_p"] * probs.max()
    s = s.masked_fill(~keep, NEG_INF)
    if 0 < c["top_k"] < V:
        kth = torch.sort(s, descending=True).values[c["top_k"] - 1]
        s = s.masked_fill(s < kth, NEG_INF)
    if c["top_p"] < 1:
        sorted_s, order = torch.sort(s, descending=False)
        cum = torch.softmax(sorted_s, -1).cumsum(-1)
        drop_sorted = cum <= 1 - c["top_p"]
        drop_sorted[-1] = False
        drop = torch.zeros(V, dtype=torch.bool)
        drop[order] = drop_sorted
        s = s.masked_fill(drop, NEG_INF)
    return s, s != NEG_INF


def log_ndtr(x):
    if x == NEG_INF:
        return NEG_INF
    return math.log(0.5 * math.erfc(-x / math.sqrt(2))) if x > -20 else (
        -0.5 * x * x - math.log(-x) - 0.5 * math.log(2 * math.pi)
        + math.log(1 - 1 / x**2 + 3 / x**4 - 15 / x**6))


def all_margins(l, e, z, kept, T, greedy):
    """Every column's boundary-aware margin straight from its definition (scoring.h): the entry
    cost l_b - l_i of a filtered i, and for each kept rival j above i's perturbed logit the cheaper
    of beating it (z_j - z'_i) and dropping it out of the filter (l_j - l_d)."""
    inf = float("inf")
    finite = torch.isfinite(l)
    filtered = (~kept) & finite
    lb = l[kept].min()
    ld = l[filtered].max() if bool(filtered.any()) else torch.tensor(NEG_INF)
    zp = torch.where(kept, z, l + (0.0 if greedy else T) * (-torch.log(e)))
    zk, removal = z[kept], l[kept] - ld
    out = torch.full_like(l, inf)
    for i in range(l.shape[0]):
        if not bool(finite[i]):
            continue
        entry = 0.0 if bool(kept[i]) else float(lb - l[i])
        above = zk > zp[i]
        rival = float(torch.minimum(zk[above] - zp[i], removal[above]).max()) if bool(above.any()) else 0.0
        out[i] = max(entry, rival)
    return out


def score_token(l, e, y, c):
    V = l.shape[0]
    greedy = c["temperature"] < 1e-5
    if greedy:
        kept = torch.ones(V, dtype=torch.bool)
        z = l.clone()
        pi = torch.softmax(l, -1)
        ratio = l.clone()
    else:
        s, kept = vllm_filter(l, c)
        z = torch.where(kept, l + c["temperature"] * (-torch.log(e)), torch.tensor(NEG_INF))
        pi = torch.softmax(s, -1)
        ratio = torch.where(kept, pi / e, torch.tensor(NEG_INF))
    zc = z.max()
    comp = int((z == zc).nonzero()[0])
    gap = all_margins(l, e, z, kept, c["temperature"], greedy)
    margin = float(gap[y])
    rank = int((l > l[y]).sum())
    gumbel_rank = int((ratio > ratio[y]).sum()) if bool(kept[y]) else -1
    admissible = [int((gap <= d).sum()) for d in GRID]
    a_thr = int((gap <= THRESHOLD).sum())
    if margin <= THRESHOLD:
        tier, bits = 0, math.log2(max(a_thr, 1))
    elif rank <= RANK_CUTOFF:
        tier, bits = 1, math.log2(RANK_CUTOFF + 1)
    else:
        tier, bits = 2, math.log2(V)
    gmls = [log_ndtr(-margin / (math.sqrt(2) * s)) if margin != float("inf") else NEG_INF for s in SIGMAS]
    server = int((ratio == ratio.max()).nonzero()[0])
    return dict(exact=server == y, margin=margin, gmls=gmls, prob=float(pi[y]), logit_rank=rank,
                gumbel_rank=gumbel_rank, admissible=admissible, tier=tier, bits=bits, competitor=comp)


def main():
    torch.manual_seed(20261126)
    tensors, meta = {}, {"V": str(V), "sigmas": json.dumps(SIGMAS), "margin_grid": json.dumps(GRID),
                         "margin_threshold": str(THRESHOLD), "rank_cutoff": str(RANK_CUTOFF),
                         "torch_version": torch.__version__}
    cases = []
    for i, c in enumerate(CASES):
        v, rows_n = c.get("V", V), c.get("rows", ROWS)
        logits = torch.randn(rows_n, v) * c.get("scale", 3.0)
        if c.get("ties"):
            # Several equal values straddling the top-k boundary in every row.
            for r in range(rows_n):
                order = torch.sort(logits[r], descending=True).indices
                logits[r, order[17:24]] = logits[r, order[19]].clone()
        noise = torch.empty(rows_n, v).exponential_()
        claimed = torch.empty(rows_n, dtype=torch.long)
        for r in range(rows_n):
            if c["temperature"] < 1e-5:
                winner = int(logits[r].argmax())
            else:
                s, kept = vllm_filter(logits[r], c)
                z = torch.where(kept, logits[r] - c["temperature"] * torch.log(noise[r]), torch.tensor(NEG_INF))
                winner = int(z.argmax())
            kind = r % 4
            if kind <= 1:
                claimed[r] = winner                                   # honest
            elif kind == 2:
                claimed[r] = int(torch.sort(logits[r], descending=True).indices[1 + r % 5])  # a near rival
            elif r % 8 == 3:
                claimed[r] = int(torch.sort(logits[r], descending=False).indices[r])         # far tail (filtered)
            else:
                # The largest filtered logit: a filter-boundary flip (the winner if nothing is filtered).
                kept = vllm_filter(logits[r], c)[1] if c["temperature"] >= 1e-5 else torch.ones(v, dtype=torch.bool)
                out = torch.where(kept, torch.tensor(NEG_INF), logits[r])
                claimed[r] = int(out.argmax()) if bool((~kept).any()) else winner
        rows = [score_token(logits[r], noise[r], int(claimed[r]), c) for r in range(rows_n)]
        p = "case%d." % i
        tensors[p + "logits"] = logits.contiguous()
        tensors[p + "noise"] = noise.contiguous()
        tensors[p + "claimed"] = claimed
        tensors[p + "exact"] = torch.tensor([int(x["exact"]) for x in rows], dtype=torch.int64)
        tensors[p + "margin"] = torch.tensor([x["margin"] for x in rows], dtype=torch.float32)
        tensors[p + "gmls"] = torch.tensor([x["gmls"] for x in rows], dtype=torch.float32)
        tensors[p + "prob"] = torch.tensor([x["prob"] for x in rows], dtype=torch.float32)
        tensors[p + "logit_rank"] = torch.tensor([x["logit_rank"] for x in rows], dtype=torch.int64)
        tensors[p + "gumbel_rank"] = torch.tensor([x["gumbel_rank"] for x in rows], dtype=torch.int64)
        tensors[p + "admissible"] = torch.tensor([x["admissible"] for x in rows], dtype=torch.int64)
        tensors[p + "tier"] = torch.tensor([x["tier"] for x in rows], dtype=torch.int64)
        tensors[p + "bits"] = torch.tensor([x["bits"] for x in rows], dtype=torch.float64)
        cases.append({k: val for k, val in c.items() if k not in ("ties", "rows", "scale")})
        print("%-20s exact %2d/%d  filtered-claim %d  tiers %s" % (
            c["name"], sum(x["exact"] for x in rows), rows_n, sum(x["gumbel_rank"] < 0 for x in rows),
            [sum(x["tier"] == t for x in rows) for t in range(3)]))
    meta["cases"] = json.dumps(cases)
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden.safetensors")
    save_file(tensors, out, metadata=meta)
    print("wrote", out, os.path.getsize(out), "bytes")


if __name__ == "__main__":
    main()
