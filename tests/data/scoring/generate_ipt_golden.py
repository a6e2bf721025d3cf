#!/usr/bin/env python3
"""Golden IPT-LS scores for llama.cpp's dist sampler, from a direct per-token implementation.

Independent of fssl's C++ (src/scoring_ipt.cpp): the chain of include/fssl/scoring_ipt.h
(top-k -> top-p -> min-p -> temperature -> dist; ties by smaller id) written out per row over the
full vocabulary with Python lists, float32 where the engine uses float (temperature division,
min-p threshold) and doubles for the softmax and CDF; u drawn from a fixed list only on rows with
more than one candidate. Cases: llama.cpp's defaults (top-k 40, top-p 0.95, min-p 0.05, T 0.8),
each filter alone (min-p alone and no filters keep the vocabulary order), top-k 1 (single
candidate: no draw), greedy, ties at the top-k boundary, claimed tokens honest / near / filtered.

    /tmp/hfvenv/bin/python tests/data/scoring/generate_ipt_golden.py
"""
import json
import math
import os
import random

import numpy as np
import torch
from safetensors.torch import save_file

V = 997
ROWS = 8
SIGMAS = [0.001, 0.01, 0.1]
GRID = [0.0, 0.001, 0.01, 0.05]
THRESHOLD = 0.01
RANK_CUTOFF = 32
F32 = np.float32

CASES = [
    dict(name="llamacpp_defaults", temperature=0.8, top_k=40, top_p=0.95, min_p=0.05),
    dict(name="top_k_only", temperature=1.0, top_k=25, top_p=1.0, min_p=0.0),
    dict(name="top_p_only", temperature=1.2, top_k=0, top_p=0.9, min_p=0.0),
    dict(name="min_p_only_vocab_order", temperature=1.0, top_k=0, top_p=1.0, min_p=0.1),
    dict(name="no_filters_vocab_order", temperature=0.9, top_k=0, top_p=1.0, min_p=0.0),
    dict(name="single_candidate", temperature=1.0, top_k=1, top_p=1.0, min_p=0.0),
    dict(name="greedy", temperature=0.0, top_k=40, top_p=0.95, min_p=0.0),
    dict(name="top_k_ties", temperature=1.0, top_k=20, top_p=1.0, min_p=0.0, ties=True),
]


def chain(logits, c):
    """Candidates (logit, id) in the sampler's final order."""
    cands = [(F32(logits[i]), i) for i in range(V)]
    is_sorted = False
    desc = lambda lst: sorted(lst, key=lambda x: (-float(x[0]), x[1]))
    if c["top_k"] > 0:
        cands = desc(cands)[:c["top_k"]]
        is_sorted = True
    if c["top_p"] < 1 and len(cands) > 1:
        if not is_sorted:
            cands = desc(cands)
        front = float(cands[0][0])
        masses = [math.exp(float(l) - front) for l, _ in cands]
        total = sum(masses)
        cum, keep = 0.0, len(cands)
        for i, m in enumerate(masses):
            cum += m / total
            if cum >= c["top_p"]:
                keep = i + 1
                break
        cands = cands[:keep]
    if c["min_p"] > 0 and cands:
        max_l = max(l for l, _ in cands)
        min_l = F32(max_l + F32(np.log(F32(c["min_p"]))))
        cands = [(l, i) for l, i in cands if not l < min_l]
    if c["temperature"] < 1e-5:
        best = min(cands, key=lambda x: (-float(x[0]), x[1]))
        return [best]
    return [(F32(l / F32(c["temperature"])), i) for l, i in cands]


def score(logits, y, c, uniforms):
    cands = chain(logits, c)
    drew = len(cands) > 1
    u = uniforms.pop(0) if drew else 0.0
    max_l = max(l for l, _ in cands)
    masses = [math.exp(float(F32(l - max_l))) for l, _ in cands]
    total = sum(masses)
    running, intervals, chosen = 0.0, [], cands[-1][1]
    chose = False
    for (l, i), m in zip(cands, masses):
        a = running / total
        running += m
        intervals.append((a, running / total, i, m / total))
        if drew and not chose and running >= u * total:
            chosen, chose = i, True
    if len(cands) == 1:
        chosen = cands[0][1]
    hit = [iv for iv in intervals if iv[2] == y]
    if hit:
        a, b, _, prob = hit[0]
        distance = max(a - u, u - b, 0.0)
        ipt = [math.log(0.5 * (math.erfc(-(b - u) / (s * math.sqrt(2))) - math.erfc(-(a - u) / (s * math.sqrt(2))))
                        + 1e-12) for s in SIGMAS]
    else:
        prob, distance, ipt = 0.0, float("inf"), [float("-inf")] * len(SIGMAS)
    dists = [max(a - u, u - b, 0.0) for a, b, _, _ in intervals]
    admissible = [sum(d <= g for d in dists) for g in GRID]
    rank = int((torch.tensor(logits) > float(logits[y])).sum())
    if distance <= THRESHOLD:
        tier, bits = 0, math.log2(max(sum(d <= THRESHOLD for d in dists), 1))
    elif rank <= RANK_CUTOFF:
        tier, bits = 1, math.log2(RANK_CUTOFF + 1)
    else:
        tier, bits = 2, math.log2(V)
    return dict(exact=chosen == y, drew=drew, distance=distance, ipt=ipt, prob=prob, rank=rank,
                admissible=admissible, tier=tier, bits=bits, chosen=chosen)


def main():
    torch.manual_seed(11)
    rng = random.Random(5)
    tensors, cases = {}, []
    for ci, c in enumerate(CASES):
        logits = (torch.randn(ROWS, V) * 2.5).float()
        if c.get("ties"):
            for r in range(ROWS):
                order = torch.sort(logits[r], descending=True).indices
                logits[r, order[17:24]] = logits[r, order[19]].clone()
        uniforms = [rng.random() for _ in range(ROWS)]
        pool = list(uniforms)
        rows = []
        for r in range(ROWS):
            probe = score(logits[r].numpy(), 0, c, list(pool))  # to learn the replayed choice
            kind = r % 4
            if kind <= 1:
                y = probe["chosen"]
            elif kind == 2:
                y = int(torch.sort(logits[r], descending=True).indices[1 + r % 3])
            else:
                y = int(torch.sort(logits[r]).indices[r])
            rows.append(score(logits[r].numpy(), y, c, pool))
            rows[-1]["y"] = y
        p = "ipt%d." % ci
        tensors[p + "logits"] = logits.contiguous()
        tensors[p + "uniforms"] = torch.tensor(uniforms, dtype=torch.float64)
        tensors[p + "claimed"] = torch.tensor([x["y"] for x in rows], dtype=torch.int64)
        tensors[p + "exact"] = torch.tensor([int(x["exact"]) for x in rows], dtype=torch.int64)
        tensors[p + "drew"] = torch.tensor([int(x["drew"]) for x in rows], dtype=torch.int64)
        tensors[p + "distance"] = torch.tensor([x["distance"] for x in rows], dtype=torch.float64)
        tensors[p + "iptls"] = torch.tensor([x["ipt"] for x in rows], dtype=torch.float32)
        tensors[p + "prob"] = torch.tensor([x["prob"] for x in rows], dtype=torch.float32)
        tensors[p + "logit_rank"] = torch.tensor([x["rank"] for x in rows], dtype=torch.int64)
        tensors[p + "admissible"] = torch.tensor([x["admissible"] for x in rows], dtype=torch.int64)
        tensors[p + "tier"] = torch.tensor([x["tier"] for x in rows], dtype=torch.int64)
        tensors[p + "bits"] = torch.tensor([x["bits"] for x in rows], dtype=torch.float64)
        cases.append({k: v for k, v in c.items() if k != "ties"})
        print("%-24s exact %d/%d draws %d filtered %d tiers %s" % (
            c["name"], sum(x["exact"] for x in rows), ROWS, sum(x["drew"] for x in rows),
            sum(math.isinf(x["distance"]) for x in rows), [sum(x["tier"] == t for x in rows) for t in range(3)]))
    meta = {"cases": json.dumps(cases), "sigmas": json.dumps(SIGMAS), "distance_grid": json.dumps(GRID),
            "distance_threshold": str(THRESHOLD), "rank_cutoff": str(RANK_CUTOFF)}
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ipt_golden.safetensors")
    save_file(tensors, out, metadata=meta)
    print("wrote", out, os.path.getsize(out), "bytes")


if __name__ == "__main__":
    main()
