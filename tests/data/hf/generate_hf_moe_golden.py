#!/usr/bin/env python3
"""The mixture-of-experts Hugging Face fixtures under tests/data/hf/ (issue 20), in the format of
generate_hf_golden.py (whose helpers this script reuses: classic config layout, deterministic
safetensors writer, fingerprint, golden.safetensors with seq{i}.input_ids / seq{i}.logits):

  qwen3-moe   Qwen3MoeForCausalLM: 3 layers, layer 1 dense (mlp_only_layers), layers 0 and 2 sparse
              with 6 experts of width 32, top-2, norm_topk_prob; q/k norm, head_dim 16, vocab 511.
  mixtral     MixtralForCausalLM: 2 layers, 5 experts of width 32, top-2 (always renormalised,
              float32 routing weights), sliding window 8, vocab 507.

Weights: every parameter from one torch.Generator in sorted name order; matrices N(0, 1/fan_in)
(the router too; each expert's slice of transformers' stacked expert tensors likewise), norms
1 + 0.1 N(0, 1), embeddings N(0, 1), lm_head N(0, (3/sqrt(hidden))^2). Logits in float32, eager
attention, each sequence alone. The directory is written as save_pretrained writes it (per-expert
tensors, the layout of the published checkpoints), config rewritten to the classic layout.

    /tmp/hfvenv/bin/python tests/data/hf/generate_hf_moe_golden.py [--out DIR]
"""
import argparse
import importlib.util
import math
import os
import shutil

import torch
from safetensors.torch import load_file
from transformers import MixtralConfig, MixtralForCausalLM, Qwen3MoeConfig, Qwen3MoeForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("dense", os.path.join(HERE, "generate_hf_golden.py"))
dense = importlib.util.module_from_spec(spec)
spec.loader.exec_module(dense)

MODELS = {
    "qwen3-moe": dict(
        seed=1101, cls=Qwen3MoeForCausalLM, config_cls=Qwen3MoeConfig,
        config=dict(vocab_size=511, hidden_size=64, head_dim=16, intermediate_size=96, moe_intermediate_size=32,
                    num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, num_experts=6,
                    num_experts_per_tok=2, norm_topk_prob=True, decoder_sparse_step=1, mlp_only_layers=[1],
                    rope_theta=1000000.0, max_position_embeddings=256, tie_word_embeddings=False)),
    # 5 experts (odd: no TP size divides them), top-2, sliding window 8 < the longer sequences.
    "mixtral": dict(
        seed=1102, cls=MixtralForCausalLM, config_cls=MixtralConfig,
        config=dict(vocab_size=507, hidden_size=64, intermediate_size=32, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=2, num_local_experts=5, num_experts_per_tok=2,
                    sliding_window=8, rope_theta=1000000.0, max_position_embeddings=256,
                    tie_word_embeddings=False)),
}


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    hidden = model.config.hidden_size
    with torch.no_grad():
        for name, p in sorted(model.named_parameters(), key=lambda kv: kv[0]):
            if name.endswith("norm.weight"):
                v = 1.0 + 0.1 * torch.randn(p.shape, generator=g)
            elif name == "model.embed_tokens.weight":
                v = torch.randn(p.shape, generator=g)
            elif name == "lm_head.weight":
                v = (3.0 / math.sqrt(hidden)) * torch.randn(p.shape, generator=g)
            elif p.dim() in (2, 3):  # linear weights; [E, out, in] stacked experts: per expert the same
                v = torch.randn(p.shape, generator=g) / math.sqrt(p.shape[-1])
            else:
                raise RuntimeError("unexpected parameter %s %s" % (name, tuple(p.shape)))
            p.copy_(v)


def generate(out_root):
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    fp_tool = dense.load_fingerprint_tool()
    for name, s in MODELS.items():
        dense.log("== %s" % name)
        config = dense.build_config(s)
        model = s["cls"](config).to(torch.float32)
        model.config._attn_implementation = "eager"
        randomize(model, s["seed"])
        inputs = dense.make_inputs(s["seed"], config.vocab_size)
        ref = dense.run_logits(model, inputs)
        dense.check_informative(name, ref)
        out_dir = os.path.join(out_root, name)
        shutil.rmtree(out_dir, ignore_errors=True)
        os.makedirs(out_dir)
        dense.save_model(model, out_dir)
        dense.rewrite_config_classic(out_dir)
        stored = load_file(os.path.join(out_dir, "model.safetensors"))
        dense.log("  stored tensors: %d, e.g. %s" % (len(stored), sorted(k for k in stored if "experts" in k)[:3]))
        loaded = s["cls"].from_pretrained(out_dir, dtype=torch.float32, attn_implementation="eager")
        dense.assert_logits_equal(ref, dense.run_logits(loaded, inputs), name + " reload")
        fp = fp_tool.fingerprint(out_dir)
        dense.write_golden(out_dir, inputs, ref, fp)
        dense.log("  fingerprint %s" % fp)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=HERE)
    generate(ap.parse_args().out)


if __name__ == "__main__":
    main()
