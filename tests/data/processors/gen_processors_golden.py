"""Golden processed logits for fssl's logits processors (tests/processors_golden_test.cpp).

Each case is a message (prompt, output, processors in the archive's JSONL names) and synthetic raw
logit rows; each row j (the row that predicts output[j]) is processed the way one engine does it:

  hf        Hugging Face transformers' own processor list, built by generate()'s
            `_get_logits_processor` (SequenceBias, RepetitionPenalty, NoBadWords, MinNewTokensLength,
            PrefixConstrained, then the warpers), applied with real input_ids on the CPU
  vllm-v1   a naive per-token PyTorch version of vLLM V1's documented order (allowed mask, bad words,
            min_tokens, logit bias, repetition by true division, frequency, presence)
  vllm-v2*  the same for Model Runner V2 (repetition as a multiply by the float32 reciprocal, the
            frequency term one fma (`-unfused`: two roundings), min_tokens released one row late
            before vllm#46243 (`-late`))
  llama     llama.cpp's own logit-bias and penalties samplers, compiled from its source and linked
            (llamacpp_penalties_harness.cpp)

Rows are synthetic and exact: logit(seed, j, i) = ((splitmix64((seed << 32) + (j << 16) + i) >> 40)
- 2^23) / 2^20, a full 24-bit mantissa in [-8, 8) (so every rounding of the engines shows), which
the C++ test rebuilds bit for bit; `force` entries then overwrite
chosen columns (zeros and signs at repeated ids, a dominant stop token, ...).

    /tmp/hft/bin/python gen_processors_golden.py --llama-harness /tmp/lcpp-harness > processors_golden.txt

Per row the file records the SHA-256 of the processed float32 row (little-endian, id order), the
columns that changed (id:hex bits, up to 16), and for cases with sampler filters the tokens the
engine's warpers or filters keep after temperature.
"""
import argparse
import fractions
import hashlib
import json
import struct
import subprocess
import sys

import numpy as np
import torch

MASK64 = (1 << 64) - 1
NEG_INF = float("-inf")


def splitmix64(z):
    z = (z + 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def raw_row(seed, j, V, force):
    row = [((splitmix64((seed << 32) + (j << 16) + i) >> 40) - (1 << 23)) / float(1 << 20) for i in range(V)]
    for fj, fi, value in force:
        if fj in (j, -1):
            row[fi] = value
    return torch.tensor(row, dtype=torch.float32)


def bits(x):
    return struct.unpack("<I", struct.pack("<f", float(x)))[0]


def f32_round(fr):
    """Fraction -> nearest float32, ties to even (no double rounding)."""
    x = np.float32(float(fr))
    best = None
    for c in (np.nextafter(x, np.float32(-np.inf)), x, np.nextafter(x, np.float32(np.inf))):
        d = abs(fractions.Fraction(float(c)) - fr)
        key = (d, bits(c) & 1)
        if best is None or key < best[0]:
            best = (key, c)
    return best[1]


def fma32(a, b, c):
    if not np.isfinite(c):
        return np.float32(c)
    return f32_round(fractions.Fraction(float(a)) * fractions.Fraction(float(b)) + fractions.Fraction(float(c)))


def proc(p, key, default):
    return p.get(key, default)


# ---- vLLM, naive, one row at a time ----

def vllm_row(variant, raw, p, prompt, out):
    """Row after `out` (the output so far) under vLLM V1 / V2 as documented (sampler-spec §10)."""
    l = raw.clone()
    V = l.numel()
    v2 = variant.startswith("vllm-v2")
    allowed = proc(p, "allowed_token_ids", [])
    if allowed:
        drop = torch.ones(V, dtype=torch.bool)
        drop[allowed] = False
        l.masked_fill_(drop, NEG_INF)

    def bad_words():
        for w in proc(p, "bad_words", []):
            if len(w) == 1 or (len(w) - 1 <= len(out) and out[len(out) - len(w) + 1:] == w[:-1]):
                l[w[-1]] = NEG_INF

    def min_tokens():
        mt, stops = proc(p, "min_tokens", 0), proc(p, "stop_token_ids", [])
        late = variant.endswith("-late")
        if mt > 0 and stops and (len(out) < mt or (late and len(out) == mt)):
            l[stops] = NEG_INF

    def bias():
        for t, b in proc(p, "logit_bias", []):
            l[t] = l[t] + torch.tensor(b, dtype=torch.float32)

    if not v2:
        bad_words()
        min_tokens()
        bias()
    else:
        bias()
        min_tokens()
    rep = torch.tensor(proc(p, "repetition_penalty", 1.0), dtype=torch.float32)
    freq = np.float32(proc(p, "frequency_penalty", 0.0))
    pres = torch.tensor(proc(p, "presence_penalty", 0.0), dtype=torch.float32)
    counts = torch.zeros(V, dtype=torch.int64)
    for t in out:
        counts[t] += 1
    repeated = counts > 0
    repeated[prompt] = True
    if not v2:
        l = torch.where(repeated, torch.where(l > 0, l / rep, l * rep), l)
        l = l - torch.tensor(freq) * counts.to(torch.float32)
    else:
        scale = torch.where(repeated, rep, torch.tensor(1.0, dtype=torch.float32))
        l = l * torch.where(l > 0, torch.tensor(1.0, dtype=torch.float32) / scale, scale)
        if variant.endswith("-unfused"):
            l = l - torch.tensor(freq) * counts.to(torch.float32)
        else:
            l = torch.tensor([fma32(-freq, np.float32(c), x) for c, x in zip(counts.tolist(), l.tolist())],
                             dtype=torch.float32)
    l = l - pres * (counts > 0).to(torch.float32)
    if v2:
        bad_words()
    return l


def vllm_kept(l, T, top_k, top_p, min_p):
    """vLLM V1's filters after the processors: temperature, min-p, top-k (ties kept), top-p."""
    s = l / torch.tensor(T, dtype=torch.float32)
    if min_p > 0:
        probs = torch.softmax(s, -1)
        s = s.masked_fill(probs < probs.max() * min_p, NEG_INF)
    if top_k > 0:
        kth = torch.topk(s, top_k).values[-1]
        s = s.masked_fill(s < kth, NEG_INF)
    if top_p < 1.0:
        order = torch.argsort(s)
        cum = torch.softmax(s[order], -1).cumsum(-1)
        drop = cum <= 1 - top_p
        drop[-1] = False
        s[order[drop]] = NEG_INF
    return s


# ---- transformers, its own processor list ----

def hf_rows(case, rows):
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM, LogitsProcessorList

    p, prompt, out, V = case["processors"], case["prompt"], case["output"], case["V"]
    model = LlamaForCausalLM(LlamaConfig(vocab_size=V, hidden_size=16, intermediate_size=16, num_hidden_layers=1,
                                         num_attention_heads=2, num_key_value_heads=2))
    stops = proc(p, "stop_token_ids", [])
    cfg = GenerationConfig(do_sample=True, temperature=case.get("T", 1.0), top_k=case.get("top_k", 0),
                           top_p=case.get("top_p", 1.0), min_p=case.get("min_p") or None,
                           repetition_penalty=proc(p, "repetition_penalty", 1.0),
                           min_new_tokens=proc(p, "min_tokens", 0) or None,
                           eos_token_id=stops or None, pad_token_id=0,
                           bad_words_ids=proc(p, "bad_words", []) or None,
                           sequence_bias={(t,): b for t, b in proc(p, "logit_bias", [])} or None)
    model._prepare_special_tokens(cfg, kwargs_has_attention_mask=True, device="cpu")
    allowed = proc(p, "allowed_token_ids", [])
    fn = (lambda batch_id, ids: allowed) if allowed else None
    processors = model._get_logits_processor(generation_config=cfg, input_ids_seq_length=len(prompt),
                                             encoder_input_ids=None, prefix_allowed_tokens_fn=fn,
                                             logits_processor=LogitsProcessorList(), device="cpu", model_kwargs={})
    warper_names = ("TemperatureLogitsWarper", "TopKLogitsWarper", "TopPLogitsWarper", "MinPLogitsWarper")
    names = [type(x).__name__ for x in processors]
    split = next((k for k, n in enumerate(names) if n in warper_names), len(names))
    out_rows, kept_rows = [], []
    for j, raw in enumerate(rows):
        ids = torch.tensor([prompt + out[:j]], dtype=torch.long)
        scores = raw.clone().unsqueeze(0)
        for k in range(split):
            scores = processors[k](ids, scores)
        processed = scores[0].clone()
        for k in range(split, len(processors)):
            scores = processors[k](ids, scores)
        out_rows.append(processed)
        kept_rows.append(scores[0])
    return out_rows, kept_rows, names


# ---- llama.cpp, its compiled samplers ----

def llama_rows(case, rows, harness):
    p, prompt, out, V = case["processors"], case["prompt"], case["output"], case["V"]
    last_n = proc(p, "repeat_last_n", -1)
    if last_n == -1:  # the server maps -1 to its context size: the whole sequence here
        last_n = len(prompt) + len(out) + 1
    biases = proc(p, "logit_bias", [])
    toks = prompt + out
    fields = [V, last_n, "%08x" % bits(proc(p, "repetition_penalty", 1.0)),
              "%08x" % bits(proc(p, "frequency_penalty", 0.0)), "%08x" % bits(proc(p, "presence_penalty", 0.0)),
              len(biases)]
    for t, b in biases:
        fields += [t, "%08x" % bits(b)]
    fields += [len(toks)] + toks + [len(rows)]
    for r in rows:
        fields += ["%08x" % bits(x) for x in r.tolist()]
    res = subprocess.run([harness], input=" ".join(map(str, fields)) + "\n", capture_output=True, text=True,
                         check=True)
    lines = res.stdout.strip().split("\n")
    assert len(lines) == len(rows)
    return [torch.tensor(np.array([int(h, 16) for h in ln.split()], dtype=np.uint32).view(np.float32))
            for ln in lines]


def row_line(j, raw, processed, kept):
    data = np.asarray(processed.numpy(), dtype="<f4").tobytes()
    rb, pb = raw.numpy().view(np.uint32), processed.numpy().view(np.uint32)
    changed = [i for i in range(len(rb)) if rb[i] != pb[i]]
    s = "row %d sha256=%s changed=%d %s" % (j, hashlib.sha256(data).hexdigest(), len(changed),
                                           " ".join("%d:%08x" % (i, pb[i]) for i in changed[:16]))
    if kept is not None:
        ids = [i for i, x in enumerate(kept.tolist()) if x != NEG_INF]
        s += " kept=%s" % ",".join(map(str, ids))
    return s.rstrip()


PROMPT = [5, 17, 17, 42, 99, 3, 250, 17, 8]
OUTPUT = [42, 7, 7, 300, 42, 11, 7, 256, 2, 9]
# Column 250 (a prompt token) leads before the repetition penalty and falls out of the top 5 after
# it, letting 404 in: a penalty on the top-k boundary. 17 sits at exactly 0, 42 below it.
TOPK_EDGE = [(-1, 250, 12.0), (-1, 400, 11.0), (-1, 401, 10.9), (-1, 402, 10.8), (-1, 403, 10.7), (-1, 404, 10.6),
             (-1, 17, 0.0), (-1, 42, -1.5), (-1, 7, 2.25)]


def case(name, engine, processors, V=512, seed=1, prompt=PROMPT, output=OUTPUT, **kw):
    return dict(name=name, engine=engine, processors=processors, V=V, seed=seed, prompt=prompt, output=output, **kw)


def cases():
    out = []
    rep = {"repetition_penalty": 1.3}
    for e in ("hf", "vllm-v1", "vllm-v2", "llama"):
        out.append(case("rep-topk-" + e, e, rep, seed=11, force=TOPK_EDGE, T=0.8, top_k=5))
    out.append(case("rep-window4-llama", "llama", dict(rep, repeat_last_n=4), seed=11, force=TOPK_EDGE))
    counts = {"presence_penalty": 0.5, "frequency_penalty": 0.7}
    for e in ("vllm-v1", "vllm-v2", "vllm-v2-unfused"):
        out.append(case("presence-frequency-" + e, e, counts, seed=12))
    # Many tokens counted three times and more: the fused and unfused frequency terms (and llama.cpp's
    # c * f + present rounded twice) differ in the last bit for about half of them.
    heavy = [7, 42, 9, 7, 300, 9, 7, 42, 11, 9, 300, 7, 11, 42, 300, 9, 5, 5, 5, 11, 7, 42, 300, 5]
    for e in ("vllm-v1", "vllm-v2", "vllm-v2-unfused", "llama"):
        out.append(case("counts-heavy-" + e, e, {"presence_penalty": 0.45, "frequency_penalty": 0.7,
                                                 "repetition_penalty": 1.07}, seed=19, output=heavy))
    out.append(case("penalties-window64-llama", "llama",
                    dict(counts, repetition_penalty=1.1, repeat_last_n=64), seed=12))
    out.append(case("penalties-window0-llama", "llama",
                    dict(counts, repetition_penalty=1.1, repeat_last_n=0), seed=12))
    # Bias before the repetition sign test: 7 sits at -0.25 and +0.5 makes it positive; 123 is
    # pushed into the top-p set, 99 (the argmax) out of it.
    bias = {"repetition_penalty": 1.2, "logit_bias": [[7, 0.5], [99, -100.0], [123, 12.0]]}
    for e in ("hf", "vllm-v1", "vllm-v2", "llama"):
        out.append(case("bias-" + e, e, bias, seed=13, force=[(-1, 7, -0.25), (-1, 99, 9.0)], T=1.0, top_p=0.9))
    # min_tokens masks the one high-probability token (a stop id) for the first rows.
    mt = {"min_tokens": 4, "stop_token_ids": [2, 3]}
    for e in ("hf", "vllm-v1", "vllm-v2", "vllm-v2-late"):
        out.append(case("min-tokens-" + e, e, mt, seed=14, force=[(-1, 2, 9.0)], T=0.7, top_k=3))
    # The allowed ids exclude the argmax (99).
    allowed = {"allowed_token_ids": [1, 2, 5, 7, 42, 300, 301]}
    for e in ("hf", "vllm-v1", "vllm-v2"):
        out.append(case("allowed-" + e, e, allowed, seed=15, force=[(-1, 99, 10.0)], T=1.0, min_p=0.1))
    # [8, 42] completes over the prompt's last token (transformers only); [2] is an EOS id, which
    # transformers drops from its single-token bad words; [7, 300] and [42, 7, 9] complete in the output.
    bad = {"bad_words": [[11], [2], [7, 300], [42, 7, 9], [8, 42]], "stop_token_ids": [2]}
    for e in ("hf", "vllm-v1", "vllm-v2"):
        out.append(case("bad-words-" + e, e, bad, seed=16))
    every = {"repetition_penalty": 1.15, "presence_penalty": 0.4, "frequency_penalty": 0.25, "min_tokens": 2,
             "stop_token_ids": [2, 3], "logit_bias": [[42, -2.0], [123, 3.0]], "bad_words": [[7, 7]]}
    for e in ("vllm-v1", "vllm-v2", "vllm-v2-unfused"):
        out.append(case("all-" + e, e, every, seed=17, T=0.9, top_k=20, top_p=0.95, min_p=0.02))
    every_hf = {k: v for k, v in every.items() if k not in ("presence_penalty", "frequency_penalty")}
    every_hf["allowed_token_ids"] = list(range(0, 512, 3)) + [2, 7, 42, 300]
    out.append(case("all-hf", "hf", every_hf, seed=17, T=0.9, top_k=20, top_p=0.95, min_p=0.02))
    # A vocabulary of 1,000 (uneven shards at TP 3 and 4) with ids in the last shard.
    big = dict(every, logit_bias=[[999, 4.0], [640, -1.0]], bad_words=[[7, 7], [998]])
    out.append(case("all-v1000-vllm-v1", "vllm-v1", big, V=1000, seed=18, output=OUTPUT + [999, 999, 640]))
    out.append(case("all-v1000-llama", "llama",
                    {"repetition_penalty": 0.9, "frequency_penalty": 0.7, "presence_penalty": -0.3, "repeat_last_n": 6,
                     "logit_bias": [[999, 4.0]]}, V=1000, seed=18, output=OUTPUT + [999, 999, 640]))
    return out


CASES = cases()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llama-harness", required=True)
    args = ap.parse_args()
    import transformers
    print("# processors golden: transformers %s, torch %s, llama.cpp samplers via %s"
          % (transformers.__version__, torch.__version__, args.llama_harness.split("/")[-1]))
    print("# case NAME ENGINE V SEED T TOP_K TOP_P MIN_P / processors JSON / prompt / output / force / rows")
    for case in CASES:
        V, seed, engine = case["V"], case["seed"], case["engine"]
        out = case["output"]
        rows = [raw_row(seed, j, V, case.get("force", [])) for j in range(len(out))]
        filters = any(k in case for k in ("T", "top_k", "top_p", "min_p"))
        kept = [None] * len(rows)
        if engine == "hf":
            processed, kept_rows, names = hf_rows(case, rows)
            if filters:
                kept = kept_rows
            print("# %s: transformers list %s" % (case["name"], ", ".join(names)))
        elif engine == "llama":
            processed = llama_rows(case, rows, args.llama_harness)
        else:
            processed = [vllm_row(engine, rows[j], case["processors"], case["prompt"], out[:j]) for j in range(len(rows))]
            if filters:
                kept = [vllm_kept(x, case.get("T", 1.0), case.get("top_k", 0), case.get("top_p", 1.0),
                                  case.get("min_p", 0.0)) for x in processed]
        print("case %s %s %d %d %r %d %r %r" % (case["name"], engine, V, seed, case.get("T", 1.0), case.get("top_k", 0),
                                              case.get("top_p", 1.0), case.get("min_p", 0.0)))
        print("processors " + json.dumps(case["processors"], separators=(",", ":")))
        print("prompt " + " ".join(map(str, case["prompt"])))
        print("output " + " ".join(map(str, out)))
        print("force " + " ".join("%d:%d:%08x" % (j, i, bits(v)) for j, i, v in case.get("force", [])))
        for j in range(len(rows)):
            print(row_line(j, rows[j], processed[j], kept[j]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
