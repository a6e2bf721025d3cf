#!/usr/bin/python3
"""Interop check: an archive written with h5py alone (from docs/archive-format.md) must be
accepted by `fssl archive validate` and exported unchanged by `fssl archive export`; two
tampered copies must be rejected.

    /usr/bin/python3 h5py_writes_fssl_reads.py --fssl build/fssl --workdir /tmp/interop1
    /usr/bin/python3 h5py_writes_fssl_reads.py --self-test --workdir /tmp/interop1   # no fssl

The layout deliberately differs from fssl's own writer (contiguous /tokens, chunk sizes that do
not divide the data, outputs stored before prompts, messages stored in reverse order, fletcher32,
model/server tables in different orders per shard, an unused model-table entry; format v1 for the
first shard and v2 with logits processors and engines for the others, their flat datasets filled
in reverse message order, one processor list shared by two messages), so a reader that depends on
layout fails here.
"""
import hashlib
import json
import os
import random
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import archive_spec as spec  # noqa: E402

import h5py  # noqa: E402
import numpy as np  # noqa: E402

MODELS = [
    {"name": "llama-3.1-8b-instruct", "fingerprint": hashlib.sha256(b"llama-3.1-8b").hexdigest(),
     "vocab_size": 128256, "tokenizer": "llama3-128k"},
    {"name": "tiny-llama", "fingerprint": "", "vocab_size": 32000, "tokenizer": "tok-tiny"},
    {"name": "qwen2.5-0.5b", "fingerprint": hashlib.sha256(b"qwen2.5").hexdigest(),
     "vocab_size": 151936, "tokenizer": ""},
    {"name": "toy-257", "fingerprint": hashlib.sha256(b"toy").hexdigest(),
     "vocab_size": 257, "tokenizer": "bytes+eos"},
]
UNUSED_MODEL = {"name": "never-used-model", "fingerprint": "", "vocab_size": 50, "tokenizer": "x"}
PROFILES = ["vllm-cuda:sm_count=132", "fssl-philox", "hf-torch-cpu",
            "llamacpp-dist:n_vocab_pad=64,backend=cpu"]
SERVERS = ["srv-a", "srv-b", "gpu-node-17.eu-west", "srv-z\u00fcrich"]
SHARD_SIZES = [7, 5, 9]
# per shard: format version, token order, /tokens storage, /messages storage, table order, JSON ASCII escaping
LAYOUTS = [
    {"version": 1, "order": "adjacent", "tokens": "contiguous", "messages": "contiguous",
     "tables": "first-seen", "ascii": True, "extra_model": False},
    {"version": 2, "order": "outputs-first", "tokens": "chunk1000-gzip", "messages": "chunk2-shuffle-gzip",
     "tables": "reversed", "ascii": False, "extra_model": True},
    {"version": 2, "order": "reverse-output-first", "tokens": "chunk7-fletcher", "messages": "chunk4-fletcher",
     "tables": "first-seen", "ascii": False, "extra_model": False},
]
FSSL_LAYOUT = {"version": 2, "order": "adjacent", "tokens": "fssl-tokens", "messages": "fssl-messages",
               "tables": "first-seen", "ascii": True, "extra_model": False}
ENGINES = [{"name": "vllm", "version": "0.30.1", "model_runner": "v2"}, {"name": "sglang", "version": "0.5.9",
                                                                          "model_runner": ""}]


def make_records():
    """21 deterministic records covering the edge cases, split 7/5/9."""
    rng = random.Random(20251126)
    seeds = [0, 2**64 - 1, 2**63, 2**63 + 12345, 1, 42]
    mid, ts, out = 1000, 1764115200000000, []
    for n in range(sum(SHARD_SIZES)):
        model = MODELS[n % len(MODELS)]
        V = model["vocab_size"]
        plen, olen = (1, 1) if n in (3, 11) else (rng.randint(1, 20), rng.randint(1, 15))
        prompt = [rng.randrange(V) for _ in range(plen)]
        output = [rng.randrange(V) for _ in range(olen)]
        if n == 5:
            prompt[0], output[-1] = 0, V - 1
        greedy = n % 4 == 1
        out.append({
            "message_id": mid, "timestamp_us": ts,
            "prompt_token_ids": prompt, "output_token_ids": output,
            "seed": seeds[n] if n < len(seeds) else rng.getrandbits(64),
            "sampler": {"profile": PROFILES[(n * 7) % len(PROFILES)],
                        "temperature": 0.0 if greedy else [0.7, 1.0, 1.3, 0.05][n % 4],
                        "top_k": [0, 40, 1, 0, 50][n % 5],
                        "top_p": [1.0, 0.9, 0.95][n % 3], "min_p": [0.0, 0.05, 0.0, 0.1][n % 4]},
            "model": model["name"], "model_fingerprint": model["fingerprint"],
            "vocab_size": V, "tokenizer": model["tokenizer"],
            "server": SERVERS[(n * 3 + n // 5) % len(SERVERS)],
        })
        if n >= SHARD_SIZES[0] and n % 3 != 0:  # v2 shards: processors and engines (spec 2.5)
            add_processors(out[-1], n, V, rng)
        mid += rng.choice([1, 1, 2, 17, 1000])
        ts += rng.randint(-2000000, 30000000)  # not monotone: completion order != id order
    out[-1]["message_id"] = 2**64 - 2  # ids above 2**63 too
    shards, i = [], 0
    for n in SHARD_SIZES:
        shards.append(out[i:i + n])
        i += n
    return shards


def add_processors(r, n, V, rng):
    """Processors and engine on record n (in the export layout: all nine keys when any is on)."""
    if n % 3 == 2:  # an engine without processors: a v2 digest all the same
        r["engine"] = ENGINES[n % 2]
        return
    r["sampler"].update({
        "repetition_penalty": [1.0, 1.1, 0.8][n % 3], "presence_penalty": [0.0, 0.5, -2.0][n % 3],
        "frequency_penalty": [0.25, 0.0, 2.0][n % 3], "min_tokens": n % 4, "repeat_last_n": [-1, 0, 64][n % 3],
        "stop_token_ids": [V - 1] + ([2] if n % 2 else []),
        "allowed_token_ids": sorted(rng.sample(range(V), 3)) if n % 4 == 1 else [],
        "logit_bias": [[t, float(np.float32(b))] for t, b in zip(rng.sample(range(V), 2), (-100.0, 2.5))],
        "bad_words": [[rng.randrange(V)], [rng.randrange(V), rng.randrange(V)]] if n % 2 else []})
    if n % 5:
        r["engine"] = ENGINES[n % 2]


def _ds_kwargs(kind, shape):
    n = shape[0]
    if kind == "contiguous":
        return {}
    if kind == "fssl-tokens":  # what spec 2.2 says fssl's own writer does
        return {"chunks": (min(8192, n),), "shuffle": True, "compression": "gzip",
                "compression_opts": 4}
    if kind == "fssl-messages":
        return {"chunks": (min(4096, n),) + shape[1:], "compression": "gzip", "compression_opts": 4}
    if kind == "chunk1000-gzip":
        return {"chunks": (1000,), "maxshape": (None,), "compression": "gzip"}
    if kind == "chunk2-shuffle-gzip":
        return {"chunks": (2,) + shape[1:], "maxshape": (None,) + shape[1:], "shuffle": True,
                "compression": "gzip", "compression_opts": 9}
    if kind == "chunk7-fletcher":
        return {"chunks": (min(7, n),), "shuffle": True, "compression": "gzip",
                "compression_opts": 1, "fletcher32": True}
    if kind == "chunk4-fletcher":
        return {"chunks": (min(4 if len(shape) == 1 else 3, n),) + shape[1:], "fletcher32": True}
    raise ValueError(kind)


def _table(values, order):
    seen = list(dict.fromkeys(values))
    return seen[::-1] if order == "reversed" else seen


def write_shard(path, index, recs, genesis, key, lay):
    """Write one shard following spec section 2; returns its manifest entry."""
    models = _table([r["model"] for r in recs], lay["tables"])
    mtab = [next({"name": r["model"], "fingerprint": r["model_fingerprint"],
                  "vocab_size": r["vocab_size"], "tokenizer": r["tokenizer"]}
                 for r in recs if r["model"] == m) for m in models]
    if lay["extra_model"]:
        mtab.insert(1, dict(UNUSED_MODEL))
    mindex = {m["name"]: i for i, m in enumerate(mtab)}
    profiles = _table([r["sampler"]["profile"] for r in recs], lay["tables"])
    servers = _table([r["server"] for r in recs], lay["tables"])
    tokens, offs = [], [None] * len(recs)

    def put(ids):
        tokens.extend(ids)
        return len(tokens) - len(ids)
    if lay["order"] == "adjacent":
        for i, r in enumerate(recs):
            offs[i] = (put(r["prompt_token_ids"]), put(r["output_token_ids"]))
    elif lay["order"] == "outputs-first":
        outs = [put(r["output_token_ids"]) for r in recs]
        offs = [(put(r["prompt_token_ids"]), o) for r, o in zip(recs, outs)]
    else:  # messages in reverse order, output before prompt
        for i in reversed(range(len(recs))):
            o = put(recs[i]["output_token_ids"])
            offs[i] = (put(recs[i]["prompt_token_ids"]), o)
    digests, prev = [], genesis
    for r in recs:
        prev = spec.record_digest(prev, r)
        digests.append(prev)
    cols = {
        "message_id": [r["message_id"] for r in recs],
        "timestamp_us": [r["timestamp_us"] for r in recs],
        "prompt_offset": [o[0] for o in offs],
        "prompt_length": [len(r["prompt_token_ids"]) for r in recs],
        "output_offset": [o[1] for o in offs],
        "output_length": [len(r["output_token_ids"]) for r in recs],
        "seed": [r["seed"] for r in recs],
        "sampler_profile": [profiles.index(r["sampler"]["profile"]) for r in recs],
        "temperature": [r["sampler"]["temperature"] for r in recs],
        "top_k": [r["sampler"]["top_k"] for r in recs],
        "top_p": [r["sampler"]["top_p"] for r in recs],
        "min_p": [r["sampler"]["min_p"] for r in recs],
        "model": [mindex[r["model"]] for r in recs],
        "server": [servers.index(r["server"]) for r in recs],
        "digest": [list(d) for d in digests],
    }
    if lay["version"] == 2:
        engines, flat = v2_columns(recs, cols)
    tmp = path + ".partial"
    with h5py.File(tmp, "w") as f:
        ascii_ = lay["ascii"]
        f.attrs["format"] = "fssl-archive"
        f.attrs["format_version"] = np.int32(lay["version"])
        f.attrs["shard_index"] = np.int64(index)
        f.attrs["chain_genesis"] = np.frombuffer(genesis, np.uint8)
        f.attrs["chain_head"] = np.frombuffer(digests[-1], np.uint8)
        f.attrs["chain_hmac"] = np.frombuffer(spec.chain_hmac(key, digests[-1]), np.uint8)
        f.attrs["models"] = json.dumps(mtab, ensure_ascii=ascii_)
        f.attrs["sampler_profiles"] = json.dumps(profiles, ensure_ascii=ascii_)
        f.attrs["servers"] = json.dumps(servers, ensure_ascii=ascii_)
        tok = np.asarray(tokens, "<i4")
        f.create_dataset("tokens", data=tok, **_ds_kwargs(lay["tokens"], tok.shape))
        g = f.create_group("messages")
        names = list(cols)[::-1] if lay["order"] != "adjacent" else list(cols)
        dtypes = dict(spec.MESSAGE_DTYPES, **spec.V2_MESSAGE_DTYPES)
        for c in names:
            a = np.asarray(cols[c], dtypes[c])
            g.create_dataset(c, data=a, **_ds_kwargs(lay["messages"], a.shape))
        if lay["version"] == 2:
            f.attrs["engines"] = json.dumps(engines, ensure_ascii=ascii_)
            p = f.create_group("processors")
            for c, values in flat.items():
                a = np.asarray(values, spec.PROCESSOR_DTYPES[c])
                p.create_dataset(c, data=a, **(_ds_kwargs(lay["tokens"], a.shape) if len(a) else {"shape": (0,),
                                                                                               "dtype": a.dtype}))
    fd = os.open(tmp, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    os.rename(tmp, path)
    return manifest_entry(path, index, recs, genesis, digests[-1])


def v2_columns(recs, cols):
    """Spec 2.5 columns into `cols`; returns (engine table, flat datasets). Flat data is filled in
    reverse message order, and two messages with the same stop set share one range."""
    engines = [{"name": "", "version": "", "model_runner": ""}]
    for r in recs:
        if spec.engine(r) not in engines:
            engines.append(spec.engine(r))
    flat = {c: [] for c in spec.PROCESSOR_DTYPES}
    spans = {c: [None] * len(recs) for c in ("stop", "allowed", "logit_bias", "bad_words")}
    shared_stop = {}
    for i in reversed(range(len(recs))):
        p = spec.processors(recs[i])

        def put(data, part, values):
            spans[part][i] = (len(flat[data]), len(values))
            flat[data].extend(values)
        key = tuple(p["stop_token_ids"])
        if key and key in shared_stop:
            spans["stop"][i] = shared_stop[key]
        else:
            put("stop_token_ids", "stop", p["stop_token_ids"])
            shared_stop[key] = spans["stop"][i]
        put("allowed_token_ids", "allowed", p["allowed_token_ids"])
        spans["logit_bias"][i] = (len(flat["logit_bias_token_id"]), len(p["logit_bias"]))
        flat["logit_bias_token_id"].extend(t for t, _ in p["logit_bias"])
        flat["logit_bias_value"].extend(b for _, b in p["logit_bias"])
        put("bad_words", "bad_words", [x for w in p["bad_words"] for x in [len(w)] + list(w)])
    for c in ("repetition_penalty", "presence_penalty", "frequency_penalty", "min_tokens", "repeat_last_n"):
        cols[c] = [spec.processors(r)[c] for r in recs]
    cols["engine"] = [engines.index(spec.engine(r)) for r in recs]
    for part in spans:
        cols[part + "_offset"] = [s[0] for s in spans[part]]
        cols[part + "_length"] = [s[1] for s in spans[part]]
    return engines, flat


def manifest_entry(path, index, recs, genesis, head):
    def counts(vals):
        d = {}
        for v in vals:
            d[v] = d.get(v, 0) + 1
        return d
    ts = [r["timestamp_us"] for r in recs]
    return {"file": os.path.basename(path), "index": index, "bytes": os.path.getsize(path),
            "sha256": spec.sha256_file(path), "n_messages": len(recs),
            "n_prompt_tokens": sum(len(r["prompt_token_ids"]) for r in recs),
            "n_output_tokens": sum(len(r["output_token_ids"]) for r in recs),
            "first_message_id": recs[0]["message_id"], "last_message_id": recs[-1]["message_id"],
            "time_min_us": min(ts), "time_max_us": max(ts),
            "models": counts(r["model"] for r in recs),
            "servers": counts(r["server"] for r in recs),
            "sampler_profiles": counts(r["sampler"]["profile"] for r in recs),
            "chain_genesis": genesis.hex(), "chain_head": head.hex()}


def write_manifest(archive, entries, key):
    man = {"format": "fssl-archive-manifest", "format_version": 1, "shards": entries,
           "hmac": spec.manifest_hmac(key, entries)}
    tmp = os.path.join(archive, "manifest.json.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(man, f, indent=2, ensure_ascii=False)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, os.path.join(archive, "manifest.json"))


def write_archive(archive, shards, key, layouts):
    os.makedirs(archive)
    entries, genesis = [], spec.ZERO32
    for k, (recs, lay) in enumerate(zip(shards, layouts)):
        e = write_shard(os.path.join(archive, "shard-%06d.h5" % k), k, recs, genesis, key, lay)
        entries.append(e)
        genesis = bytes.fromhex(e["chain_head"])
    write_manifest(archive, entries, key)


def tampered_copy(src, dst, shard_file, edit):
    """Copy the archive, apply edit(h5py.File) to one shard, refresh that shard's bytes/sha256
    in the manifest (its HMAC does not cover them) so the edit is the only inconsistency."""
    shutil.copytree(src, dst)
    path = os.path.join(dst, shard_file)
    with h5py.File(path, "r+") as f:
        edit(f)
    mpath = os.path.join(dst, "manifest.json")
    with open(mpath, encoding="utf-8") as f:
        man = json.load(f)
    for e in man["shards"]:
        if e["file"] == shard_file:
            e["bytes"], e["sha256"] = os.path.getsize(path), spec.sha256_file(path)
    with open(mpath, "w", encoding="utf-8") as f:
        json.dump(man, f, indent=2, ensure_ascii=False)


def main():
    args = spec.parse_cli(__doc__, "only write and check with the Python reader (no fssl)")
    wd = args.workdir
    for d in ("archive", "neg-token", "neg-hmac"):
        shutil.rmtree(os.path.join(wd, d), ignore_errors=True)
    archive, key_path = os.path.join(wd, "archive"), os.path.join(wd, "key")
    key = spec.deterministic_key("h5py-writes-fssl-reads")
    with open(key_path, "wb") as f:
        f.write(key)
    shards = make_records()
    write_archive(archive, shards, key, LAYOUTS)
    expected = [r for s in shards for r in s]
    with open(os.path.join(wd, "expected.jsonl"), "w", encoding="utf-8") as f:
        for r in expected:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print("wrote %s (%d shards, %d messages) and expected.jsonl"
          % (archive, len(shards), len(expected)))

    # 1. The Python reader must accept its own archive (guards the test itself).
    failures = []
    rep = spec.verify_archive(archive, key)
    failures += ["python reader: " + e for e in rep.errors]
    if len(rep.records) != len(expected):
        failures.append("python reader: %d records, expected %d" % (len(rep.records), len(expected)))
    for g, e in zip(rep.records, expected):
        failures += spec.compare_records(g, e, "python reader:")

    # 2. Tampered copies. Shard 1, record 2: one output token changed (kept in vocab).
    row = 2
    bad = shards[1][row]
    bad_mid, V = bad["message_id"], bad["vocab_size"]

    def flip_token(f):
        off = int(f["messages/output_offset"][row])
        f["tokens"][off] = (int(f["tokens"][off]) + 1) % V
    neg_token = os.path.join(wd, "neg-token", "archive")
    tampered_copy(archive, neg_token, "shard-000001.h5", flip_token)

    def wrong_hmac(f):
        f.attrs["chain_hmac"] = np.frombuffer(
            spec.chain_hmac(spec.deterministic_key("wrong"), f.attrs["chain_head"].tobytes()), np.uint8)
    neg_hmac = os.path.join(wd, "neg-hmac", "archive")
    tampered_copy(archive, neg_hmac, "shard-000002.h5", wrong_hmac)
    want = "shard-000001.h5: record %d (message id %d): digest mismatch" % (row, bad_mid)
    if want not in spec.verify_archive(neg_token, key).errors:
        failures.append("python reader missed the flipped token")
    if not any("chain_hmac" in e for e in spec.verify_archive(neg_hmac, key).errors):
        failures.append("python reader missed the wrong chain_hmac")

    if args.fssl:
        fssl = os.path.abspath(args.fssl)
        rc, out = spec.run_cmd([fssl, "archive", "validate", "--archive", archive, "--key", key_path])
        if rc != 0:
            failures.append("fssl archive validate exited %d:\n%s" % (rc, out))
        export = os.path.join(wd, "export.jsonl")
        if os.path.exists(export):
            os.remove(export)
        rc, out = spec.run_cmd([fssl, "archive", "export", "--archive", archive, "--out", export])
        if rc != 0:
            failures.append("fssl archive export exited %d:\n%s" % (rc, out))
        else:
            got = spec.load_jsonl(export)
            if len(got) != len(expected):
                failures.append("export has %d lines, expected %d" % (len(got), len(expected)))
            for i, (g, e) in enumerate(zip(got, expected)):
                failures += spec.compare_records(g, e, "export line %d:" % (i + 1))
        rc, out = spec.run_cmd([fssl, "archive", "validate", "--archive", neg_token, "--key", key_path])
        if rc == 0 or "message id %d" % bad_mid not in out or "shard-000001.h5" not in out:
            failures.append("flipped token (shard-000001.h5, message id %d): validate exited %d, "
                            "must fail naming the file and the message id; output:\n%s"
                            % (bad_mid, rc, out))
        rc, out = spec.run_cmd([fssl, "archive", "validate", "--archive", neg_hmac, "--key", key_path])
        if rc == 0 or "hmac" not in out.lower():
            failures.append("wrong chain_hmac (shard-000002.h5): validate exited %d, must fail "
                            "mentioning hmac; output:\n%s" % (rc, out))
    for msg in failures:
        print("MISMATCH: " + msg)
    for w in rep.warnings:
        print("warning (python reader): " + w)
    print("%d messages checked, %d mismatches%s" % (len(expected), len(failures),
                                                    "" if args.fssl else " (self-test, no fssl)"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
