#!/usr/bin/env python3
"""Deterministic synthetic inference-server logs (JSONL, fssl layout) for the demo.

Lengths follow the demo set of hpc-and-anchors.md A26 (mean ~227 prompt, ~185 output tokens),
token ids are uniform below the tiny model's vocabulary, four servers over one day. Two lines
are deliberately bad (a missing seed, an out-of-vocabulary token) so the demo shows how import
names and skips them. Standard library only.
"""
import argparse
import json
import random

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--messages", type=int, default=20000)
parser.add_argument("--seed", type=int, default=1)
parser.add_argument("--vocab-size", type=int, default=512)
parser.add_argument("--out", required=True)
args = parser.parse_args()

rng = random.Random(args.seed)
servers = ["srv-a", "srv-b", "srv-c", "srv-d"]
profiles = [("fssl-philox", 0.7), ("vllm-cuda:sm_count=132", 0.3)]
start_us = 1764115200 * 1000000  # 2025-11-26T00:00:00Z
with open(args.out, "w") as out:
    for i in range(args.messages):
        n_prompt = max(1, min(2048, int(rng.lognormvariate(5.2, 0.6))))
        n_output = max(1, min(1024, int(rng.lognormvariate(5.0, 0.6))))
        profile = profiles[0][0] if rng.random() < profiles[0][1] else profiles[1][0]
        line = {
            "message_id": i,
            "timestamp_us": start_us + i * (86400 * 1000000 // args.messages),
            "prompt_token_ids": [rng.randrange(args.vocab_size) for _ in range(n_prompt)],
            "output_token_ids": [rng.randrange(args.vocab_size) for _ in range(n_output)],
            "seed": rng.getrandbits(64),
            "sampler": {"profile": profile, "temperature": rng.choice([1.0, 0.7]), "top_k": 50,
                        "top_p": 0.95, "min_p": 0.0},
            "model": "tiny-llama-demo",
            "server": rng.choice(servers),
        }
        if i == args.messages // 3:
            del line["seed"]  # a logger bug: the demo's import must name and skip this line
        if i == 2 * args.messages // 3:
            line["output_token_ids"][0] = args.vocab_size  # out of vocabulary
        out.write(json.dumps(line, separators=(",", ":")) + "\n")
