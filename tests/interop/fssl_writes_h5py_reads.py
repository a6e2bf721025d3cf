#!/usr/bin/python3
"""Interop check: an archive written by `fssl archive import --format jsonl` must be readable
with h5py alone following docs/archive-format.md, and every record must equal its input line.

    /usr/bin/python3 fssl_writes_h5py_reads.py --fssl build/fssl --workdir /tmp/interop2
    /usr/bin/python3 fssl_writes_h5py_reads.py --self-test --workdir /tmp/interop2

--self-test replaces the fssl import by the Python writer of h5py_writes_fssl_reads.py (with the
layout spec 2.2 attributes to fssl's writer), to test this script's own reader.
"""
import datetime
import hashlib
import json
import math
import os
import random
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import archive_spec as spec  # noqa: E402

N_MESSAGES = 250
SHARD_MESSAGES = 64
VOCAB = 4096
TOKENIZER = "tok-test"
FINGERPRINT = hashlib.sha256(b"fssl-interop-model").hexdigest()
MODELS = ["tiny-llama", "llama-3.1-8b-instruct", "qwen2.5-0.5b"]
SERVERS = ["srv-a", "srv-b", "gpu-node-17.eu-west", "srv-c"]
PROFILES = ["vllm-cuda:sm_count=132", "fssl-philox", "hf-torch-cpu"]
EPOCH = datetime.datetime(1970, 1, 1)


def rfc3339(us, with_ms):
    t = EPOCH + datetime.timedelta(microseconds=us)
    s = t.strftime("%Y-%m-%dT%H:%M:%S")
    return s + (".%03dZ" % (t.microsecond // 1000) if with_ms else "Z")


ENGINES = [{"name": "vllm", "version": "0.26.1", "model_runner": "v2"},
           {"name": "sglang", "version": "0.5.4", "model_runner": ""}]


def add_processors(line, exp, n, rng):
    """Processors in the forms servers send (OpenAI's logit_bias object, llama.cpp aliases, nulls
    for unset options) into `line`, and as the archive holds them (spec 2.5) into `exp`."""
    bias = {rng.randrange(VOCAB): b for b in (-100.0, 2.5, 0.125)}
    want = {"repetition_penalty": [1.1, 0.9][n % 2], "presence_penalty": 0.5,
            "frequency_penalty": [0.0, -1.5][n % 2], "min_tokens": n % 5,
            "repeat_last_n": [-1, 64][n % 2], "stop_token_ids": [VOCAB - 1, 2],
            "allowed_token_ids": [], "logit_bias": sorted([t, b] for t, b in bias.items()),
            "bad_words": [[rng.randrange(VOCAB)], [rng.randrange(VOCAB), rng.randrange(VOCAB)]]}
    exp.update(want)
    sent = dict(want)
    if n % 8 == 1:  # OpenAI's form: an object keyed by token-id strings, stored by ascending id
        sent["logit_bias"] = {str(t): b for t, b in bias.items()}
    if n % 3 == 0:  # llama.cpp's names
        sent["repeat_penalty"] = sent.pop("repetition_penalty")
        sent["penalty_last_n"] = sent.pop("repeat_last_n")
    sent["allowed_token_ids"] = None  # an unset optional, as vLLM clients write it
    line.update(sent)


def generate(path):
    """Write input.jsonl; return the expected records (spec 5 semantics) in input order."""
    rng = random.Random(1234)
    mid, ts = 10, 1764115200000000
    expected, lines = [], []
    for n in range(N_MESSAGES):
        mid += rng.choice([1, 1, 1, 2, 3, 10, 97])
        ts += rng.randint(1, 5000) * 1000  # whole ms, so every timestamp form is exact
        prompt = [rng.randrange(VOCAB) for _ in range(rng.randint(1, 60))]
        output = [rng.randrange(VOCAB) for _ in range(rng.randint(1, 40))]
        if n % 50 == 7:
            prompt[0], output[-1] = 0, VOCAB - 1
        seed = [0, 2**64 - 1, 2**63, 2**63 - 1][n] if n < 4 else rng.getrandbits(rng.choice([16, 63, 64]))
        sampler = {"profile": rng.choice(PROFILES),
                   "temperature": rng.choice([0.0, 0.0, 0.6, 0.7, 1.0, 1.2, 1e-3]),
                   "top_k": rng.choice([0, 0, 1, 20, 50, 4095]),
                   "top_p": rng.choice([1.0, 1.0, 0.9, 0.95, 0.5]),
                   "min_p": rng.choice([0.0, 0.0, 0.05, 0.1])}
        model, server = rng.choice(MODELS), rng.choice(SERVERS)
        exp_sampler, eng = dict(sampler), None
        if n % 4 == 1:  # format v2: logits processors as servers log them (spec 5 names)
            add_processors(sampler, exp_sampler, n, rng)
        if n % 6 in (1, 2):
            eng = ENGINES[n % 2]
        line = {"prompt_token_ids": prompt, "output_token_ids": output, "seed": seed,
                "sampler": sampler, "model": model, "server": server, "message_id": mid}
        if eng:
            line["engine"] = dict(eng)
        form = n % 10
        if form in (0, 5):    # seconds since the epoch, a JSON number
            secs = ts / 1e6
            assert round(secs * 1e6) == ts
            line["timestamp"] = secs
        elif form == 1:       # RFC 3339 with milliseconds
            line["timestamp"] = rfc3339(ts, True)
        elif form == 2:       # RFC 3339, whole seconds (expect the truncated time)
            ts -= ts % 1000000
            line["timestamp"] = rfc3339(ts, False)
        else:                 # exact integer microseconds
            line["timestamp_us"] = ts
        if n % 3 == 0:  # key order must not matter
            line = dict(reversed(list(line.items())))
        lines.append(json.dumps(line))
        expected.append({"message_id": mid, "timestamp_us": ts, "prompt_token_ids": prompt,
                         "output_token_ids": output, "seed": seed, "sampler": exp_sampler,
                         "model": model, "model_fingerprint": FINGERPRINT, "vocab_size": VOCAB,
                         "tokenizer": TOKENIZER, "server": server})
        if eng:
            expected[-1]["engine"] = dict(eng)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return expected


def self_test_import(archive, expected, key):
    """Stand-in for `fssl archive import` when no binary is available."""
    import h5py_writes_fssl_reads as w
    shards = [expected[i:i + SHARD_MESSAGES] for i in range(0, len(expected), SHARD_MESSAGES)]
    w.write_archive(archive, shards, key, [w.FSSL_LAYOUT] * len(shards))


def main():
    args = spec.parse_cli(__doc__, "write the archive with the Python writer instead of fssl")
    wd = args.workdir
    archive, key_path = os.path.join(wd, "archive"), os.path.join(wd, "key")
    shutil.rmtree(archive, ignore_errors=True)
    key = spec.deterministic_key("fssl-writes-h5py-reads")
    with open(key_path, "wb") as f:
        f.write(key)
    input_path = os.path.join(wd, "input.jsonl")
    expected = generate(input_path)
    print("wrote %s (%d messages)" % (input_path, len(expected)))

    if args.self_test:
        self_test_import(archive, expected, key)
    else:
        rc, out = spec.run_cmd([
            os.path.abspath(args.fssl), "archive", "import", "--format", "jsonl",
            "--input", input_path, "--out", archive, "--vocab-size", str(VOCAB),
            "--model-fingerprint", FINGERPRINT, "--tokenizer", TOKENIZER, "--key", key_path,
            "--shard-messages", str(SHARD_MESSAGES)])
        print(out.rstrip())
        if rc != 0:
            print("FAIL: fssl archive import exited %d" % rc)
            return 1

    rep = spec.verify_archive(archive, key)
    mism = list(rep.errors)
    n_shards = math.ceil(N_MESSAGES / SHARD_MESSAGES)
    if len(rep.shards) != n_shards:
        mism.append("archive has %d readable shards, expected %d" % (len(rep.shards), n_shards))
    with open(os.path.join(archive, "manifest.json"), encoding="utf-8") as f:
        man = json.load(f)
    if len(man.get("shards", [])) != n_shards:
        mism.append("manifest lists %d shards, expected %d" % (len(man.get("shards", [])), n_shards))
    for k, info in enumerate(rep.shards):
        want_n = min(SHARD_MESSAGES, N_MESSAGES - k * SHARD_MESSAGES)
        if len(info["records"]) != want_n:
            mism.append("shard %d has %d messages, expected %d (--shard-messages %d)"
                        % (k, len(info["records"]), want_n, SHARD_MESSAGES))
        for m in info["models"]:
            if (m["fingerprint"], m["vocab_size"], m["tokenizer"]) != (FINGERPRINT, VOCAB, TOKENIZER):
                mism.append("shard %d: model table entry %r: expected fingerprint %s, vocab_size "
                            "%d, tokenizer %r" % (k, m, FINGERPRINT, VOCAB, TOKENIZER))
        used = {r["model"] for r in info["records"]}
        if {m["name"] for m in info["models"]} - used:
            print("note: shard %d model table has unused entries" % k)
    if len(rep.records) != len(expected):
        mism.append("archive has %d records, input has %d" % (len(rep.records), len(expected)))
    for g, e in zip(rep.records, expected):
        mism += spec.compare_records(g, e, "shard %s row %s:" % (g["shard"], g["row"]))
    for w in rep.warnings:
        print("warning: " + w)
    for m in mism:
        print("MISMATCH: " + m)
    print("%d messages checked, %d mismatches%s"
          % (len(expected), len(mism), " (self-test, no fssl)" if args.self_test else ""))
    return 1 if mism else 0


if __name__ == "__main__":
    sys.exit(main())
