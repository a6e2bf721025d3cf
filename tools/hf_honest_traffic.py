#!/usr/bin/env python3
"""Honest traffic from Hugging Face transformers, as an operator would produce it (docs/audit.md
"Alarms", measured on it): a small byte-level Llama trained on English text, served by
transformers' own generate() in bf16 on a CPU, batches of 4 with one seed per batch, top-k 50 /
top-p 0.95; every message written as a JSONL line for `fssl archive import` (profile
hf-torch-cpu:batch_size=4,batch_row=b).

    python tools/hf_honest_traffic.py train --text-dir /usr/share/common-licenses --out MODEL_DIR
    python tools/hf_honest_traffic.py generate --model MODEL_DIR --text-dir DIR --messages 200 \
        --seed 1 --out traffic.jsonl

Needs torch and transformers (not CI's Python: a measurement tool). Byte b is token b + 3 (0 pad,
1 bos, 2 eos); the vocabulary is 512 wide like `fssl model init --preset tiny`.
"""
import argparse
import json
import os
import random

import torch
from transformers import LlamaConfig, LlamaForCausalLM

OFFSET, VOCAB = 3, 512


def corpus(text_dir):
    data = b""
    for name in sorted(os.listdir(text_dir)):
        path = os.path.join(text_dir, name)
        if os.path.isfile(path):
            data += open(path, "rb").read() + b"\n"
    return torch.tensor([b + OFFSET for b in data], dtype=torch.long)


def train(a):
    torch.manual_seed(0)
    ids = corpus(a.text_dir)
    config = LlamaConfig(vocab_size=VOCAB, hidden_size=128, intermediate_size=384, num_hidden_layers=3,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                         rope_theta=10000.0, bos_token_id=1, eos_token_id=2, pad_token_id=0,
                         tie_word_embeddings=False)
    model = LlamaForCausalLM(config)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for step in range(a.steps):
        starts = torch.randint(0, len(ids) - 129, (16,))
        batch = torch.stack([ids[s:s + 128] for s in starts])
        loss = model(input_ids=batch, labels=batch).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0 or step == a.steps - 1:
            print("step %d loss %.3f" % (step, loss.item()), flush=True)
    model.save_pretrained(a.out, safe_serialization=True)


def generate(a):
    torch.set_num_threads(1)
    # Debian's torch 1.13 cannot import torch.distributed.fsdp under Python 3.11; generate() only
    # asks whether the model is FSDP-wrapped, which it is not.
    import transformers.generation.utils as generation_utils
    if hasattr(generation_utils, "is_fsdp_managed_module"):
        generation_utils.is_fsdp_managed_module = lambda module: False
    model = LlamaForCausalLM.from_pretrained(a.model, torch_dtype=torch.bfloat16).eval()
    ids = corpus(a.text_dir).tolist()
    rng = random.Random(a.seed)
    with open(a.out, "w") as out:
        for first in range(0, a.messages, 4):
            prompts = []
            for _ in range(4):  # equal lengths: no padding inside a batch
                s = rng.randrange(0, len(ids) - a.prompt_len)
                prompts.append(ids[s:s + a.prompt_len])
            seed = rng.randrange(0, 2**32)
            torch.manual_seed(seed)
            with torch.no_grad():
                outputs = model.generate(torch.tensor(prompts), do_sample=True, top_k=50, top_p=0.95,
                                         temperature=1.0, max_new_tokens=a.max_tokens, min_new_tokens=a.max_tokens,
                                         eos_token_id=None, pad_token_id=0, attention_mask=torch.ones(4, a.prompt_len,
                                                                                                     dtype=torch.long))
            for row in range(4):
                out.write(json.dumps({
                    "prompt_token_ids": prompts[row], "output_token_ids": outputs[row, a.prompt_len:].tolist(),
                    "seed": seed, "server": "hf-%d" % (first // 4 % 4),
                    "sampler": {"profile": "hf-torch-cpu:batch_size=4,batch_row=%d" % row, "temperature": 1.0,
                                "top_k": 50, "top_p": 0.95},
                    "timestamp_us": 1764115200000000 + (first + row) * 1000000}) + "\n")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--text-dir", required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--steps", type=int, default=400)
    g = sub.add_parser("generate")
    g.add_argument("--model", required=True)
    g.add_argument("--text-dir", required=True)
    g.add_argument("--messages", type=int, default=200)
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--prompt-len", type=int, default=32)
    g.add_argument("--max-tokens", type=int, default=64)
    g.add_argument("--out", required=True)
    a = ap.parse_args()
    train(a) if a.cmd == "train" else generate(a)


if __name__ == "__main__":
    main()
