#!/usr/bin/env python3
"""Regenerate the Hugging Face golden fixtures under tests/data/hf/.

fssl re-implements Llama-family forward passes in libtorch C++; its tests compare
fssl's logits with these goldens, produced by Hugging Face transformers' own
modeling code. CI does not have transformers: it only reads the committed files.

For every fixture directory this writes
  config.json         the model config (see "config.json layout" below)
  model.safetensors   weights written by save_pretrained (sharded for llama-sharded)
  golden.safetensors  seq{i}.input_ids (I64 [len]) and seq{i}.logits (F32 [len, vocab])
                      for i = 0..3 and len = 1, 7, 13, 40: each sequence run alone,
                      batch 1, positions 0..len-1, eager attention, float32.
                      Metadata: n_sequences, seq_lengths, torch_version,
                      transformers_version, fingerprint (tools/model_fingerprint.py).

Fixtures: llama (llama3 rope scaling, GQA), llama-bf16 (same model, BF16 weights,
goldens in float32 from the BF16-rounded weights), llama-sharded (same weights as
llama in 3 shards + model.safetensors.index.json; same fingerprint), mistral,
qwen2 (q/k/v bias, tied embeddings, vocab 510), qwen3 (q_norm/k_norm, explicit
head_dim 32, 1 kv head, vocab 509).

config.json layout: transformers >= 5 writes RoPE settings as a nested
"rope_parameters" object (with rope_theta inside). Every published Llama 3 /
Mistral / Qwen2 / Qwen3 checkpoint, fssl's loader (src/model_config.cpp) and the
fingerprint key list (docs/model-format.md) use the classic top-level
"rope_theta" + "rope_scaling" fields instead. The generator therefore rewrites
config.json into that classic layout and checks that transformers loads the
rewritten directory to the same RoPE parameters and bit-identical logits. The
untouched save_pretrained output of llama is kept as
llama/config.transformers-native.json (for a loader test; not used otherwise).

Weights are not HF's default init (which gives near-uniform logits): every
parameter is drawn from a torch.Generator seeded per model, in sorted name
order: Linear weights N(0, 1/fan_in), embeddings N(0, 1) (N(0, 0.4^2) when tied,
since they are then also the LM head), lm_head N(0, (3/sqrt(hidden))^2),
RMSNorm / q_norm / k_norm weights 1 + 0.1 N(0, 1), biases 0.5 N(0, 1).

How to rerun (needs PyPI; run from the repository root):
    python3 -m venv /tmp/hfvenv
    /tmp/hfvenv/bin/pip install torch transformers safetensors numpy
    /tmp/hfvenv/bin/python tests/data/hf/generate_hf_golden.py
Fixtures were generated with torch 2.15.0 and transformers 5.24.0 (CPU, 2 threads);
the versions used are recorded in every golden.safetensors. Output is
deterministic: two runs with the same versions give byte-identical files.
Options: --out DIR (default: this script's directory), --check-only (generate into a
temporary directory and compare with DIR byte for byte, change nothing).
"""

import argparse
import filecmp
import hashlib
import importlib.util
import inspect
import json
import math
import os
import shutil
import struct
import sys
import tempfile

import torch
import transformers
from safetensors.torch import load_file
from transformers import (LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM,
                          Qwen2Config, Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
FINGERPRINT_TOOL = os.path.join(REPO, "tools", "model_fingerprint.py")

SEQ_LENGTHS = (1, 7, 13, 40)
SHARD_SIZE = "250KB"  # llama weights are ~0.6 MB -> 3 shards

LLAMA3_ROPE = {
    "rope_type": "llama3",
    "factor": 8.0,
    "low_freq_factor": 1.0,
    "high_freq_factor": 4.0,
    # With head_dim 16 and rope_theta 5e5 the unscaled wavelengths are 6.3, 32.4, 167, ...
    # 64 makes the three llama3 branches all occur: 6.3 < 64/4 is kept, 16 <= 32.4 <= 64 is
    # smoothed, >64 is divided by factor. (32 would put 32.4 just above the low-frequency
    # cutoff and leave the smoothing branch untested.)
    "original_max_position_embeddings": 64,
}

MODELS = {
    "llama": dict(
        seed=1001, cls=LlamaForCausalLM, config_cls=LlamaConfig,
        config=dict(vocab_size=512, hidden_size=64, intermediate_size=160, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-5,
                    rope_theta=500000.0, rope_scaling=dict(LLAMA3_ROPE),
                    max_position_embeddings=256, tie_word_embeddings=False)),
    "mistral": dict(
        seed=1002, cls=MistralForCausalLM, config_cls=MistralConfig,
        config=dict(vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=2, sliding_window=None,
                    max_position_embeddings=256, tie_word_embeddings=False)),
    # Sliding-window attention: window 8 < the 13- and 40-token sequences, so the window mask matters.
    "mistral-window": dict(
        seed=1005, cls=MistralForCausalLM, config_cls=MistralConfig,
        config=dict(vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=2, sliding_window=8,
                    max_position_embeddings=256, tie_word_embeddings=False)),
    "qwen2": dict(
        seed=1003, cls=Qwen2ForCausalLM, config_cls=Qwen2Config,
        config=dict(vocab_size=510, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=2, rope_theta=1000000.0,
                    max_position_embeddings=256, tie_word_embeddings=True)),
    "qwen3": dict(
        seed=1004, cls=Qwen3ForCausalLM, config_cls=Qwen3Config,
        config=dict(vocab_size=509, hidden_size=64, head_dim=32, intermediate_size=128,
                    num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=1,
                    rope_theta=1000000.0, max_position_embeddings=256,
                    tie_word_embeddings=False)),
}


def log(msg):
    print(msg, flush=True)


def load_fingerprint_tool():
    spec = importlib.util.spec_from_file_location("model_fingerprint", FINGERPRINT_TOOL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def build_config(spec):
    cfg = dict(spec["config"])
    # transformers >= 5 takes RoPE settings as rope_parameters (rope_theta inside).
    if "rope_parameters" in inspect.signature(spec["config_cls"].__init__).parameters or \
            int(transformers.__version__.split(".")[0]) >= 5:
        rp = dict(cfg.pop("rope_scaling", None) or {"rope_type": "default"})
        rp["rope_theta"] = cfg.pop("rope_theta", 10000.0)
        cfg["rope_parameters"] = rp
    return spec["config_cls"](**cfg)


def randomize(model, seed, tied):
    """Deterministic, informative weights (see module docstring)."""
    g = torch.Generator().manual_seed(seed)
    hidden = model.config.hidden_size
    with torch.no_grad():
        for name, p in sorted(model.named_parameters(), key=lambda kv: kv[0]):
            if name.endswith("norm.weight"):  # input/post_attention/final norm, q_norm, k_norm
                v = 1.0 + 0.1 * torch.randn(p.shape, generator=g)
            elif name.endswith(".bias"):
                v = 0.5 * torch.randn(p.shape, generator=g)
            elif name == "model.embed_tokens.weight":
                v = (0.4 if tied else 1.0) * torch.randn(p.shape, generator=g)
            elif name == "lm_head.weight":
                v = (3.0 / math.sqrt(hidden)) * torch.randn(p.shape, generator=g)
            elif p.dim() == 2:
                v = torch.randn(p.shape, generator=g) / math.sqrt(p.shape[1])
            else:
                raise RuntimeError("unexpected parameter %s %s" % (name, tuple(p.shape)))
            p.copy_(v)
    if tied:
        assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr(), "not tied"
    else:
        assert model.lm_head.weight.data_ptr() != model.model.embed_tokens.weight.data_ptr()


def make_inputs(seed, vocab):
    g = torch.Generator().manual_seed(seed + 7919)
    return [torch.randint(0, vocab, (n,), generator=g, dtype=torch.int64) for n in SEQ_LENGTHS]


@torch.no_grad()
def run_logits(model, inputs):
    model.eval()
    out = []
    for ids in inputs:
        logits = model(input_ids=ids.unsqueeze(0), use_cache=False).logits[0]
        assert logits.dtype == torch.float32 and logits.shape == (ids.numel(), model.config.vocab_size)
        out.append(logits.contiguous().clone())
    return out


def save_model(model, out_dir, **kw):
    params = inspect.signature(model.save_pretrained).parameters
    if "safe_serialization" in params:  # transformers 4.x; 5.x always writes safetensors
        kw["safe_serialization"] = True
    model.save_pretrained(out_dir, **kw)
    gen = os.path.join(out_dir, "generation_config.json")
    if os.path.exists(gen):
        os.remove(gen)  # not part of the fixture; fssl does not generate


def classic_config(native):
    """transformers-5 config dict -> classic top-level rope_theta / rope_scaling layout."""
    cfg = dict(native)
    rp = cfg.pop("rope_parameters", None)
    if rp is None:
        return cfg  # already classic (transformers 4.x)
    assert isinstance(rp, dict) and "rope_theta" in rp, rp
    rp = dict(rp)
    cfg["rope_theta"] = rp.pop("rope_theta")
    cfg["rope_scaling"] = None if rp.get("rope_type", "default") == "default" and len(rp) == 1 else rp
    return cfg


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")


def rewrite_config_classic(out_dir, keep_native_as=None):
    path = os.path.join(out_dir, "config.json")
    with open(path, encoding="utf-8") as f:
        native = json.load(f)
    if keep_native_as:
        shutil.copyfile(path, os.path.join(out_dir, keep_native_as))
    write_json(path, classic_config(native))


def load_back(spec, out_dir, dtype=torch.float32):
    return spec["cls"].from_pretrained(out_dir, dtype=dtype, attn_implementation="eager")


def check_same_config(ref, loaded, name):
    for key in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                "num_key_value_heads", "head_dim", "rms_norm_eps", "tie_word_embeddings", "sliding_window",
                "use_sliding_window", "layer_types", "rope_parameters"):
        a, b = getattr(ref, key, None), getattr(loaded, key, None)
        assert a == b, "%s: config %s differs after reload: %r vs %r" % (name, key, a, b)


def assert_logits_equal(a, b, what):
    for i, (x, y) in enumerate(zip(a, b)):
        assert torch.equal(x, y), "%s: seq%d logits differ (max abs diff %g)" % (
            what, i, (x - y).abs().max().item())


def check_informative(name, logits):
    stds = [l.std(dim=-1) for l in logits]
    all_std = torch.cat(stds)
    argmax = logits[-1].argmax(dim=-1)
    n_distinct = len(set(argmax.tolist()))
    log("  %s: per-position logit std min %.3f mean %.3f max %.3f; seq3 argmax distinct %d/%d"
        % (name, all_std.min().item(), all_std.mean().item(), all_std.max().item(), n_distinct, argmax.numel()))
    assert 0.7 <= all_std.min().item() and all_std.max().item() <= 6.0, "%s: logit std out of range" % name
    assert n_distinct >= 10, "%s: argmax hardly varies" % name
    return all_std.mean().item()


def check_llama3_rope(model):
    """HF's llama3 inv_freq must differ from the unscaled one, with all three branches hit."""
    rot = model.model.rotary_emb
    cfg = model.config
    theta = cfg.rope_parameters["rope_theta"]
    dim = cfg.head_dim
    plain = 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    scaled = rot.inv_freq.float()
    factor = cfg.rope_parameters["factor"]
    kept = torch.isclose(scaled, plain, rtol=1e-6, atol=0)
    divided = torch.isclose(scaled, plain / factor, rtol=1e-6, atol=0)
    smoothed = ~kept & ~divided
    log("  llama3 rope: unscaled inv_freq %s" % ["%.6g" % v for v in plain.tolist()])
    log("               scaled   inv_freq %s" % ["%.6g" % v for v in scaled.tolist()])
    log("               kept %d, smoothed %d, divided by factor %d"
        % (kept.sum().item(), smoothed.sum().item(), divided.sum().item()))
    assert not torch.equal(scaled, plain), "llama3 scaling did not change inv_freq"
    assert kept.any() and smoothed.any() and divided.any(), "not all llama3 branches exercised"


def plain_forward(sd, cfg, ids):
    """Independent re-statement of the forward pass HF computes (no transformers code).

    It documents, in a few lines, what a C++ re-implementation has to match, and the
    generator checks it against HF's logits (close, not bit-exact):
      h = embed[ids]; per layer: x = rmsnorm(h) * w_in; q,k,v = x W^T (+ bias: Qwen2 q/k/v);
      Qwen3: q,k = rmsnorm_over_head_dim(q,k) * q_norm/k_norm  BEFORE RoPE;
      RoPE in rotate_half form on each head: q*cos + rotate_half(q)*sin, where
      rotate_half([a, b]) = [-b, a] for the two halves and cos/sin = cos/sin(pos * [f, f]);
      GQA: kv head j serves query heads j*g .. j*g+g-1 (g = heads / kv_heads);
      softmax(q k^T / sqrt(head_dim) + causal) v; o_proj; residual;
      x = rmsnorm(h) * w_post; down(silu(gate(x)) * up(x)); residual;
      logits = rmsnorm(h) * w_final @ lm_head^T (lm_head = embed when tied).
    rmsnorm(x) = x / sqrt(mean(x^2) + eps), in float32, weight multiplied afterwards.
    """
    rp = cfg.rope_parameters
    n_h, n_kv = cfg.num_attention_heads, cfg.num_key_value_heads
    hd = getattr(cfg, "head_dim", None) or cfg.hidden_size // n_h
    eps = cfg.rms_norm_eps

    def rms(x, w):
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))

    base = rp["rope_theta"]
    inv = 1.0 / (base ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    if rp.get("rope_type", "default") == "llama3":
        factor, lo, hi = rp["factor"], rp["low_freq_factor"], rp["high_freq_factor"]
        old = rp["original_max_position_embeddings"]
        wavelen = 2 * math.pi / inv
        smooth = (old / wavelen - lo) / (hi - lo)
        scaled = torch.where(wavelen > old / lo, inv / factor, inv)
        medium = (wavelen >= old / hi) & (wavelen <= old / lo)
        inv = torch.where(medium, (1 - smooth) * scaled / factor + smooth * scaled, scaled)
    n = ids.numel()
    freqs = torch.arange(n).float()[:, None] * inv[None, :]
    emb = torch.cat([freqs, freqs], -1)
    cos, sin = emb.cos(), emb.sin()  # [n, hd]

    def rope(x):  # x: [heads, n, hd]
        x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
        return x * cos + torch.cat([-x2, x1], -1) * sin

    def lin(x, pre):
        y = x @ sd[pre + ".weight"].T
        return y + sd[pre + ".bias"] if pre + ".bias" in sd else y

    h = sd["model.embed_tokens.weight"][ids]
    mask = torch.full((n, n), float("-inf")).triu(1)
    window = getattr(cfg, "sliding_window", None)
    if window:  # query i sees keys j with i - window < j <= i (transformers' sliding-window mask)
        mask = mask + torch.full((n, n), float("-inf")).tril(-window)
    for i in range(cfg.num_hidden_layers):
        p = "model.layers.%d." % i
        x = rms(h, sd[p + "input_layernorm.weight"])
        q = lin(x, p + "self_attn.q_proj").view(n, n_h, hd)
        k = lin(x, p + "self_attn.k_proj").view(n, n_kv, hd)
        v = lin(x, p + "self_attn.v_proj").view(n, n_kv, hd)
        if p + "self_attn.q_norm.weight" in sd:
            q = rms(q, sd[p + "self_attn.q_norm.weight"])
            k = rms(k, sd[p + "self_attn.k_norm.weight"])
        q, k, v = q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1)
        q, k = rope(q), rope(k)
        g = n_h // n_kv
        k, v = k.repeat_interleave(g, 0), v.repeat_interleave(g, 0)
        att = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(hd) + mask, -1) @ v
        h = h + lin(att.transpose(0, 1).reshape(n, n_h * hd), p + "self_attn.o_proj")
        x = rms(h, sd[p + "post_attention_layernorm.weight"])
        gate = lin(x, p + "mlp.gate_proj")
        h = h + lin(torch.nn.functional.silu(gate) * lin(x, p + "mlp.up_proj"), p + "mlp.down_proj")
    x = rms(h, sd["model.norm.weight"])
    head = sd.get("lm_head.weight", sd["model.embed_tokens.weight"])
    return x @ head.T


def check_plain_forward(name, model_dir, cfg, inputs, logits):
    sd = {k: v.float() for k, v in load_file(os.path.join(model_dir, "model.safetensors")).items()}
    worst = 0.0
    for ids, ref in zip(inputs, logits):
        with torch.no_grad():
            worst = max(worst, (plain_forward(sd, cfg, ids) - ref).abs().max().item())
    log("  %s: independent plain-torch forward vs HF: max |diff| %.3g" % (name, worst))
    assert worst < 1e-4, "%s: plain forward disagrees with HF" % name


def write_golden(out_dir, inputs, logits, fingerprint):
    tensors = {}
    for i, (ids, lg) in enumerate(zip(inputs, logits)):
        tensors["seq%d.input_ids" % i] = ids.contiguous()
        tensors["seq%d.logits" % i] = lg.contiguous()
    meta = {
        "n_sequences": str(len(inputs)),
        "seq_lengths": ",".join(str(int(x.numel())) for x in inputs),
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
        "fingerprint": fingerprint,
        "attn_implementation": "eager",
        "compute_dtype": "float32",
    }
    path = os.path.join(out_dir, "golden.safetensors")
    write_safetensors(path, tensors, meta)
    back = load_file(path)
    assert sorted(back) == sorted(tensors) and all(torch.equal(back[k], tensors[k]) for k in tensors)


_ST_DTYPES = {torch.int64: "I64", torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16"}


def write_safetensors(path, tensors, metadata):
    """Deterministic safetensors writer.

    safetensors.torch.save_file emits __metadata__ in Rust HashMap order, which changes
    from run to run; this writes the same layout (tensors ordered by decreasing element
    size, then name; header padded with spaces to a multiple of 8) with sorted keys.
    """
    order = sorted(tensors, key=lambda n: (-tensors[n].element_size(), n))
    header = {"__metadata__": {k: metadata[k] for k in sorted(metadata)}}
    blobs, offset = [], 0
    for name in order:
        t = tensors[name].contiguous()
        raw = t.view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": _ST_DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * (-len(hjson) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for raw in blobs:
            f.write(raw)


def fingerprint_via_safetensors_pkg(fp_tool, model_dir):
    """Cross-check of tools/model_fingerprint.py using the safetensors package for parsing."""
    with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    parts = ["fssl-model-v1\n"]
    for key in fp_tool.FINGERPRINT_KEYS:
        parts.append("%s=%s\n" % (key, fp_tool.canonical(config.get(key))))
    files = sorted(fn for fn in os.listdir(model_dir) if fn.startswith("model") and fn.endswith(".safetensors"))
    names_dtypes = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16}
    inv = {v: k for k, v in names_dtypes.items()}
    tensors = {}
    for fn in files:
        tensors.update(load_file(os.path.join(model_dir, fn)))
    for name in sorted(tensors, key=lambda n: n.encode("utf-8")):
        t = tensors[name].contiguous()
        raw = t.view(torch.uint8).numpy().tobytes() if t.numel() else b""
        parts.append("%s\n%s\n%s\n%s\n" % (name, inv[t.dtype], ",".join(str(d) for d in t.shape),
                                           hashlib.sha256(raw).hexdigest()))
    return hashlib.sha256("".join(parts).encode("utf-8")).hexdigest()


def generate(out_root):
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    fp_tool = load_fingerprint_tool()
    summary = {}

    for name, spec in MODELS.items():
        log("== %s" % name)
        torch.manual_seed(spec["seed"])
        config = build_config(spec)
        model = spec["cls"](config).to(torch.float32)
        model.config._attn_implementation = "eager"
        model.set_attn_implementation("eager") if hasattr(model, "set_attn_implementation") else None
        tied = bool(config.tie_word_embeddings)
        randomize(model, spec["seed"], tied)
        inputs = make_inputs(spec["seed"], config.vocab_size)
        ref = run_logits(model, inputs)
        std = check_informative(name, ref)
        if name == "llama":
            check_llama3_rope(model)

        out_dir = os.path.join(out_root, name)
        os.makedirs(out_dir)
        save_model(model, out_dir)
        rewrite_config_classic(out_dir, "config.transformers-native.json" if name == "llama" else None)
        stored = load_file(os.path.join(out_dir, "model.safetensors"))
        assert ("lm_head.weight" in stored) == (not tied), "%s: lm_head.weight stored=%s tied=%s" % (
            name, "lm_head.weight" in stored, tied)
        loaded = load_back(spec, out_dir)
        check_same_config(model.config, loaded.config, name)
        assert_logits_equal(ref, run_logits(loaded, inputs), name + " reload")
        fp = fp_tool.fingerprint(out_dir)
        assert fp == fingerprint_via_safetensors_pkg(fp_tool, out_dir), name + ": fingerprint cross-check"
        check_plain_forward(name, out_dir, model.config, inputs, ref)
        write_golden(out_dir, inputs, ref, fp)
        summary[name] = dict(std=std, fingerprint=fp)

        if name == "llama":
            # Same weights, sharded.
            sdir = os.path.join(out_root, "llama-sharded")
            os.makedirs(sdir)
            save_model(model, sdir, max_shard_size=SHARD_SIZE)
            assert not os.path.exists(os.path.join(sdir, "model.safetensors")), "llama-sharded: not sharded"
            shards = sorted(f for f in os.listdir(sdir) if f.startswith("model-") and f.endswith(".safetensors"))
            assert 2 <= len(shards) <= 3, "llama-sharded: %d shards" % len(shards)
            assert os.path.exists(os.path.join(sdir, "model.safetensors.index.json"))
            shutil.copyfile(os.path.join(out_dir, "config.json"), os.path.join(sdir, "config.json"))
            loaded = load_back(spec, sdir)
            assert_logits_equal(ref, run_logits(loaded, inputs), "llama-sharded reload")
            sfp = fp_tool.fingerprint(sdir)
            assert sfp == fp, "llama-sharded fingerprint %s != llama %s" % (sfp, fp)
            assert sfp == fingerprint_via_safetensors_pkg(fp_tool, sdir)
            shutil.copyfile(os.path.join(out_dir, "golden.safetensors"), os.path.join(sdir, "golden.safetensors"))
            log("  llama-sharded: %s, fingerprint equal to llama" % ", ".join(shards))
            summary["llama-sharded"] = dict(std=std, fingerprint=sfp, shards=shards)

            # Same model, BF16 weights; goldens from the BF16-rounded weights computed in float32.
            bdir = os.path.join(out_root, "llama-bf16")
            os.makedirs(bdir)
            bf = spec["cls"](config)
            bf.load_state_dict(model.state_dict())
            save_model(bf.to(torch.bfloat16), bdir)
            rewrite_config_classic(bdir)
            bstored = load_file(os.path.join(bdir, "model.safetensors"))
            assert all(t.dtype == torch.bfloat16 for t in bstored.values()), "llama-bf16: not all BF16"
            b32 = load_back(spec, bdir, dtype=torch.bfloat16).float()
            assert torch.equal(b32.model.rotary_emb.inv_freq, model.model.rotary_emb.inv_freq), \
                "llama-bf16: inv_freq changed by the bf16 load"
            check_same_config(model.config, b32.config, "llama-bf16")
            bref = run_logits(b32, inputs)
            alt = run_logits(load_back(spec, bdir, dtype=torch.float32), inputs)
            assert_logits_equal(bref, alt, "llama-bf16 (bf16 load + .float() vs float32 load)")
            bstd = check_informative("llama-bf16", bref)
            diff = max((a - b).abs().max().item() for a, b in zip(bref, ref))
            log("  llama-bf16: max |logit - llama logit| = %.4g" % diff)
            assert diff > 0, "bf16 rounding had no effect"
            bfp = fp_tool.fingerprint(bdir)
            assert bfp == fingerprint_via_safetensors_pkg(fp_tool, bdir)
            assert bfp != fp
            check_plain_forward("llama-bf16", bdir, model.config, inputs, bref)
            write_golden(bdir, inputs, bref, bfp)
            summary["llama-bf16"] = dict(std=bstd, fingerprint=bfp, max_diff_vs_llama=diff)

    log("== summary (torch %s, transformers %s)" % (torch.__version__, transformers.__version__))
    for name, s in summary.items():
        log("  %-14s logit std %.3f  fingerprint %s" % (name, s["std"], s["fingerprint"]))
    return summary


def fixture_names():
    return list(MODELS) + ["llama-sharded", "llama-bf16"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=HERE, help="fixture root (default: %(default)s)")
    ap.add_argument("--check-only", action="store_true",
                    help="generate into a temporary directory and compare with --out byte for byte")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="hf_golden_")
    try:
        generate(tmp)
        if args.check_only:
            ok = True
            for n in fixture_names():
                a, b = os.path.join(tmp, n), os.path.join(args.out, n)
                cmp = filecmp.dircmp(a, b)
                files = sorted(set(os.listdir(a)) | set(os.listdir(b)))
                for fn in files:
                    pa, pb = os.path.join(a, fn), os.path.join(b, fn)
                    if not (os.path.exists(pa) and os.path.exists(pb) and filecmp.cmp(pa, pb, shallow=False)):
                        log("DIFFERS: %s/%s" % (n, fn))
                        ok = False
                del cmp
            log("check-only: %s" % ("identical" if ok else "DIFFERENT"))
            return 0 if ok else 1
        for n in fixture_names():
            dst = os.path.join(args.out, n)
            if os.path.exists(dst):
                shutil.rmtree(dst)
            shutil.copytree(os.path.join(tmp, n), dst)
            for fn in os.listdir(dst):
                os.chmod(os.path.join(dst, fn), 0o644)
        log("wrote %s" % ", ".join(os.path.join(args.out, n) for n in fixture_names()))
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
