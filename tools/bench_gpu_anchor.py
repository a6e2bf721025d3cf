#!/usr/bin/env python3
"""GPU anchors for fssl's GPU path, measured with PyTorch + transformers on the GPU machine
(tests/gpu/run.sh runs it; not a test, and not part of fssl's dependencies).

1. Prefill of a Llama-3.1-8B-shaped model (random bf16 weights, sdpa attention) over equal-length
   batches, with logits at every position (what a verifier needs) and hidden states only: the
   prompt tokens/s a transformers-based verifier reaches on this card, the baseline that fssl's
   libtorch replay must beat (docs/performance.md, hpc-and-anchors.md A1/A6).
2. Batched Gumbel-max scoring in plain torch on [N, V] float32 logits: vLLM-style exponential_
   noise, argmax of l/T - ln E, margin and raw-logit rank of a claimed token, in ms per 1,000
   tokens, against the prefill time of the same tokens (the <= 10 % target of issue 4 on a GPU).
3. The paper's per-token loop (argsort over the vocabulary per token, Python loop) on the GPU for
   the same formulas, to give the batched/loop ratio on this card.

    python3 tools/bench_gpu_anchor.py [--layers 32] [--batch 4] [--length 2048]

The prefill block also carries the fields `fssl bench prefill --device cuda --json` prints
(tokens, tokens_per_s, tokens_per_s_hidden_only, tflops, matmul_peak_tflops, mfu, peak_mem_gib),
computed the same way: FLOPs = 2 x matmul parameters (projections + LM head, not the embedding
lookup) x tokens, the peak from a bf16 8192^3 torch.mm (best of 5 after a warm-up).
"""
import argparse
import json
import time

import torch


def timed(fn, repeats):
    fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) / repeats


def matmul_peak_tflops(n=8192):
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):
        torch.mm(a, b)
    best = 1e30
    for _ in range(5):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        torch.mm(a, b)
        torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return 2.0 * n ** 3 / best / 1e12


def prefill(args, out):
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(hidden_size=4096, intermediate_size=14336, num_hidden_layers=args.layers,
                         num_attention_heads=32, num_key_value_heads=8, vocab_size=128256,
                         max_position_embeddings=8192, rope_theta=500000.0, tie_word_embeddings=False,
                         attn_implementation="sdpa")
    torch.set_default_dtype(torch.bfloat16)
    with torch.device("cuda"):
        model = LlamaForCausalLM(config)
    torch.set_default_dtype(torch.float32)
    model.eval()
    params = sum(p.numel() for p in model.parameters())
    ids = torch.randint(0, config.vocab_size, (args.batch, args.length), device="cuda")
    tokens = ids.numel()

    @torch.inference_mode()
    def with_logits():
        return model(input_ids=ids).logits.float()

    @torch.inference_mode()
    def hidden_only():
        return model.model(input_ids=ids).last_hidden_state

    peak = matmul_peak_tflops()
    torch.cuda.reset_peak_memory_stats()
    t_logits = timed(with_logits, args.repeats)
    peak_mem = torch.cuda.max_memory_allocated() / 2**30
    t_hidden = timed(hidden_only, args.repeats)
    flops = 2.0 * params * tokens
    matmul_flops = 2.0 * (params - model.model.embed_tokens.weight.numel()) * tokens  # fssl's count
    out["prefill"] = {
        "params": params, "layers": args.layers, "batch": args.batch, "length": args.length,
        "tokens_per_s_with_fp32_logits": tokens / t_logits, "tokens_per_s_hidden_only": tokens / t_hidden,
        "tflops_with_logits": flops / t_logits / 1e12, "peak_mem_gib": peak_mem,
        "tokens": tokens, "tokens_per_s": tokens / t_logits, "tflops": matmul_flops / t_logits / 1e12,
        "matmul_peak_tflops": peak, "mfu": matmul_flops / t_logits / 1e12 / peak,
    }
    del model
    torch.cuda.empty_cache()
    return tokens / t_logits


def scoring(args, out, prefill_tok_s):
    n, v = args.score_rows, 128256
    g = torch.Generator(device="cuda")
    g.manual_seed(1)
    logits = torch.randn(n, v, device="cuda", generator=g) * 3
    claimed = torch.randint(0, v, (n,), device="cuda", generator=g)
    temperature = 1.0

    def batched():
        e = torch.empty(n, v, device="cuda").exponential_(generator=g)
        z = logits / temperature - e.log()
        zc, c = z.max(dim=1)
        zy = z.gather(1, claimed[:, None]).squeeze(1)
        margin = (zc - zy) * temperature
        ly = logits.gather(1, claimed[:, None])
        rank = (logits > ly).sum(dim=1)
        return c, margin, rank

    t = timed(batched, args.repeats)
    loop_rows = min(n, 256)

    def loop():
        e = torch.empty(loop_rows, v, device="cuda").exponential_(generator=g)
        for i in range(loop_rows):
            z = logits[i] - e[i].log()
            order = torch.argsort(z, descending=True)
            c = int(order[0])
            y = int(claimed[i])
            _ = float(z[c] - z[y])
            _ = int((torch.argsort(logits[i], descending=True) == y).nonzero()[0])

    t_loop = timed(loop, 1) / loop_rows * n
    out["scoring"] = {
        "rows": n, "vocab": v, "ms_per_1000_tokens": t / n * 1e6, "scored_tokens_per_s": n / t,
        "loop_scored_tokens_per_s": n / t_loop, "batched_over_loop": t_loop / t,
        "fraction_of_prefill": (n / prefill_tok_s) and t / (n / prefill_tok_s),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--layers", type=int, default=32)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--length", type=int, default=2048)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--score-rows", type=int, default=4096)
    args = ap.parse_args()
    props = torch.cuda.get_device_properties(0)
    out = {"device": props.name, "sm_count": props.multi_processor_count, "torch": torch.__version__}
    prefill_tok_s = prefill(args, out)
    scoring(args, out, prefill_tok_s)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
