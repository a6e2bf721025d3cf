"""Independent Python reading of docs/archive-format.md (fssl log archive, format v2; v1 shards
too).

Written from the specification only (standard library + h5py + numpy), so that it can
check the C++ implementation.  Shared by h5py_writes_fssl_reads.py and
fssl_writes_h5py_reads.py.

A *record* is a plain dict, the same shape as one line of `fssl archive export`:
    {"message_id", "timestamp_us", "prompt_token_ids", "output_token_ids", "seed",
     "sampler": {"profile", "temperature", "top_k", "top_p", "min_p"[, the nine processor keys]},
     "model", "model_fingerprint", "vocab_size", "tokenizer", "server"[, "engine"]}
with the processor keys (spec 2.5, section 5's names) only when a processor is on, and "engine"
{"name", "version", "model_runner"} only when logged.
"""
import argparse
import hashlib
import hmac
import json
import os
import re
import struct
import subprocess

import h5py
import numpy as np

REC_TAG = b"FSSLREC1"                      # spec 3.1
REC_TAG_V2 = b"FSSLREC2"                   # spec 3.1, format v2
CHAIN_TAG = b"fssl-archive-v1/chain"       # spec 3.2
MANIFEST_TAG = b"fssl-archive-v1/manifest"  # spec 3.2
ZERO32 = bytes(32)
SHARD_RE = re.compile(r"^shard-(\d{6,})\.h5$")
HEX64_RE = re.compile(r"^[0-9a-f]{64}$")

# spec 2.2: on-disk types of the datasets
MESSAGE_DTYPES = {
    "message_id": "<u8", "timestamp_us": "<i8", "prompt_offset": "<i8", "prompt_length": "<i4",
    "output_offset": "<i8", "output_length": "<i4", "seed": "<u8", "sampler_profile": "<u2",
    "temperature": "<f4", "top_k": "<i4", "top_p": "<f4", "min_p": "<f4", "model": "<u2",
    "server": "<u4", "digest": "u1",
}
# spec 2.5: format v2 columns of /messages and flat datasets of /processors
V2_MESSAGE_DTYPES = {
    "repetition_penalty": "<f4", "presence_penalty": "<f4", "frequency_penalty": "<f4",
    "min_tokens": "<i4", "repeat_last_n": "<i4", "engine": "<u2",
    "stop_offset": "<i8", "stop_length": "<i4", "allowed_offset": "<i8", "allowed_length": "<i4",
    "logit_bias_offset": "<i8", "logit_bias_length": "<i4", "bad_words_offset": "<i8",
    "bad_words_length": "<i4",
}
PROCESSOR_DTYPES = {"stop_token_ids": "<i4", "allowed_token_ids": "<i4", "logit_bias_token_id": "<i4",
                    "logit_bias_value": "<f4", "bad_words": "<i4"}
PROCESSORS_OFF = {"repetition_penalty": 1.0, "presence_penalty": 0.0, "frequency_penalty": 0.0,
                  "min_tokens": 0, "repeat_last_n": -1, "stop_token_ids": [], "allowed_token_ids": [],
                  "logit_bias": [], "bad_words": []}


def processors(r):
    """The record's nine processor fields (spec 2.5), the off values where absent."""
    sp = r["sampler"]
    return {k: sp.get(k, v) for k, v in PROCESSORS_OFF.items()}


def engine(r):
    e = r.get("engine") or {}
    return {k: e.get(k, "") for k in ("name", "version", "model_runner")}


def is_v2(r):
    """Spec 3.1: a record with a processor on or an engine logged hashes as v2."""
    p = processors(r)
    on = any(np.float32(p[k]) != np.float32(PROCESSORS_OFF[k])
             for k in ("repetition_penalty", "presence_penalty", "frequency_penalty"))
    on = on or p["min_tokens"] != 0 or p["repeat_last_n"] != -1
    on = on or any(p[k] for k in ("stop_token_ids", "allowed_token_ids", "logit_bias", "bad_words"))
    return on or any(engine(r).values())


def record_digest(prev, r):
    """Spec 3.1."""
    def s(x):
        b = x.encode("utf-8")
        return struct.pack("<I", len(b)) + b
    def ids(xs):
        return struct.pack("<I", len(xs)) + np.asarray(xs, "<i4").tobytes()
    sp = r["sampler"]
    v2 = is_v2(r)
    m = ((REC_TAG_V2 if v2 else REC_TAG) + bytes(prev)
         + struct.pack("<QqQfiff", r["message_id"], r["timestamp_us"], r["seed"],
                       sp["temperature"], sp["top_k"], sp["top_p"], sp["min_p"])
         + s(sp["profile"]) + s(r["model"]) + s(r["model_fingerprint"])
         + struct.pack("<I", r["vocab_size"]) + s(r["tokenizer"]) + s(r["server"]))
    if v2:
        p, e = processors(r), engine(r)
        m += (s(e["name"]) + s(e["version"]) + s(e["model_runner"])
              + struct.pack("<fffii", p["repetition_penalty"], p["presence_penalty"], p["frequency_penalty"],
                            p["min_tokens"], p["repeat_last_n"])
              + ids(p["stop_token_ids"]) + ids(p["allowed_token_ids"])
              + struct.pack("<I", len(p["logit_bias"]))
              + b"".join(struct.pack("<if", t, b) for t, b in p["logit_bias"])
              + struct.pack("<I", len(p["bad_words"])) + b"".join(ids(w) for w in p["bad_words"]))
    m += (struct.pack("<II", len(r["prompt_token_ids"]), len(r["output_token_ids"]))
         + np.asarray(r["prompt_token_ids"], "<i4").tobytes()
         + np.asarray(r["output_token_ids"], "<i4").tobytes())
    return hashlib.sha256(m).digest()


def chain_hmac(key, head):
    return hmac.new(key, CHAIN_TAG + bytes(head), hashlib.sha256).digest()


def manifest_hmac(key, shard_entries):
    """Spec 3.2, over the manifest entries (file, n_messages, chain_genesis, chain_head)."""
    m = MANIFEST_TAG
    for e in shard_entries:
        m += (e["file"].encode("utf-8") + b"\x00" + struct.pack("<Q", e["n_messages"])
              + bytes.fromhex(e["chain_genesis"]) + bytes.fromhex(e["chain_head"]))
    return hmac.new(key, m, hashlib.sha256).hexdigest()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def deterministic_key(label):
    return hashlib.sha256(("fssl-interop-key/" + label).encode()).digest()


def load_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def run_cmd(cmd, timeout=600):
    """Run a command, return (exit code, stdout+stderr)."""
    print("$ " + " ".join(cmd), flush=True)
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return 124, (e.output or b"").decode("utf-8", "replace") + "\n[timed out]"
    except OSError as e:
        return 127, "cannot run %s: %s" % (cmd[0], e)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def _is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def compare_records(got, exp, label):
    """Field-by-field comparison; floats as float32. Returns a list of mismatch strings."""
    out = []
    mid = exp.get("message_id")

    def bad(field, g, e):
        out.append("%s message id %s: field %s: got %r, expected %r" % (label, mid, field, g, e))

    for f in ("message_id", "timestamp_us", "seed", "vocab_size"):
        g = got.get(f)
        if not (_is_int(g) and g == exp[f]):
            bad(f, g, exp[f])
    for f in ("prompt_token_ids", "output_token_ids"):
        g = got.get(f)
        if not (isinstance(g, list) and all(_is_int(t) for t in g) and g == list(exp[f])):
            bad(f, g, exp[f])
    for f in ("model", "model_fingerprint", "tokenizer", "server"):
        if got.get(f) != exp[f]:
            bad(f, got.get(f), exp[f])
    gs, es = got.get("sampler"), exp["sampler"]
    if not isinstance(gs, dict):
        bad("sampler", gs, es)
        return out
    if gs.get("profile") != es["profile"]:
        bad("sampler.profile", gs.get("profile"), es["profile"])
    if not (_is_int(gs.get("top_k")) and gs["top_k"] == es["top_k"]):
        bad("sampler.top_k", gs.get("top_k"), es["top_k"])
    for f in ("temperature", "top_p", "min_p"):
        g = gs.get(f)
        if not (isinstance(g, (int, float)) and not isinstance(g, bool)
                and np.float32(g) == np.float32(es[f])):
            bad("sampler." + f, g, es[f])
    gp, ep = processors(got), processors(exp)
    for f in ("repetition_penalty", "presence_penalty", "frequency_penalty"):
        if np.float32(gp[f]) != np.float32(ep[f]):
            bad("sampler." + f, gp[f], ep[f])
    for f in ("min_tokens", "repeat_last_n", "stop_token_ids", "allowed_token_ids", "bad_words"):
        if _lists(gp[f]) != _lists(ep[f]):
            bad("sampler." + f, gp[f], ep[f])
    if [(t, np.float32(b)) for t, b in gp["logit_bias"]] != [(t, np.float32(b)) for t, b in ep["logit_bias"]]:
        bad("sampler.logit_bias", gp["logit_bias"], ep["logit_bias"])
    if engine(got) != engine(exp):
        bad("engine", got.get("engine"), exp.get("engine"))
    return out


def _lists(x):
    return [_lists(v) for v in x] if isinstance(x, (list, tuple)) else x


def _str_attr(v):
    if isinstance(v, (bytes, np.bytes_)):
        return bytes(v).decode("utf-8")
    if isinstance(v, np.ndarray) and v.shape == ():
        return _str_attr(v[()])
    return v


class Report:
    def __init__(self):
        self.errors, self.warnings, self.records, self.shards = [], [], [], []

    def err(self, msg):
        self.errors.append(msg)


def _read_shard(path, name, rep):
    """Read one shard; checks spec 2.1-2.4 reader rules. Returns dict or None."""
    with h5py.File(path, "r") as f:
        a = f.attrs
        info = {"format": _str_attr(a.get("format")),
                "format_version": a.get("format_version"), "shard_index": a.get("shard_index")}
        for attr, dt in (("format_version", np.int32), ("shard_index", np.int64)):
            v = a.get(attr)
            if not (isinstance(v, np.generic) and v.dtype == np.dtype(dt)):
                rep.err("%s: attribute %s is %r (%s), expected %s scalar"
                        % (name, attr, v, getattr(v, "dtype", type(v)), np.dtype(dt)))
        for attr in ("chain_genesis", "chain_head") + (("chain_hmac",) if "chain_hmac" in a else ()):
            v = a.get(attr)
            if not (isinstance(v, np.ndarray) and v.dtype == np.uint8 and v.shape == (32,)):
                rep.err("%s: attribute %s missing or not uint8[32]: %r" % (name, attr, v))
                return None
            info[attr] = v.tobytes()
        try:
            models = json.loads(_str_attr(a["models"]))
            profiles = json.loads(_str_attr(a["sampler_profiles"]))
            servers = json.loads(_str_attr(a["servers"]))
        except Exception as e:  # noqa: BLE001
            rep.err("%s: cannot read tables: %s" % (name, e))
            return None
        for i, m in enumerate(models):
            ok = (isinstance(m, dict) and isinstance(m.get("name"), str)
                  and isinstance(m.get("fingerprint"), str)
                  and (m["fingerprint"] == "" or HEX64_RE.match(m["fingerprint"]))
                  and _is_int(m.get("vocab_size")) and 0 < m["vocab_size"] < 2**32
                  and isinstance(m.get("tokenizer"), str))
            if not ok:
                rep.err("%s: model table entry %d malformed: %r" % (name, i, m))
                return None
        if len({m["name"] for m in models}) != len(models):
            rep.err("%s: model names not unique in the table" % name)
        if not all(isinstance(p, str) and " " not in p for p in profiles):
            rep.err("%s: sampler_profiles is not an array of strings without spaces" % name)
            return None
        if not all(isinstance(s, str) for s in servers):
            rep.err("%s: servers is not an array of strings" % name)
            return None
        version = int(a.get("format_version", 0))
        engines = []
        if version == 2:
            try:
                engines = json.loads(_str_attr(a["engines"]))
            except Exception as e:  # noqa: BLE001
                rep.err("%s: cannot read the engine table: %s" % (name, e))
                return None
            if not all(isinstance(e, dict) and all(isinstance(e.get(k), str) for k in ("name", "version", "model_runner"))
                       for e in engines):
                rep.err("%s: engines is not an array of {name, version, model_runner} strings" % name)
                return None
        info.update(models=models, sampler_profiles=profiles, servers=servers, engines=engines)
        if "tokens" not in f or "messages" not in f:
            rep.err("%s: /tokens or /messages missing" % name)
            return None
        tok_ds = f["tokens"]
        if tok_ds.dtype != np.dtype("<i4") or tok_ds.ndim != 1:
            rep.err("%s: /tokens is %s%s, expected int32 [T]" % (name, tok_ds.dtype, tok_ds.shape))
        tokens = tok_ds[()].astype(np.int64)
        T = len(tokens)
        cols = {}
        for c, dt in MESSAGE_DTYPES.items():
            if c not in f["messages"]:
                rep.err("%s: /messages/%s missing" % (name, c))
                return None
            ds = f["messages"][c]
            if ds.dtype != np.dtype(dt):
                rep.err("%s: /messages/%s has type %s, expected %s" % (name, c, ds.dtype, np.dtype(dt)))
            cols[c] = ds[()]
        flat = {}
        if version == 2:
            for c, dt in V2_MESSAGE_DTYPES.items():
                if c not in f["messages"]:
                    rep.err("%s: /messages/%s missing" % (name, c))
                    return None
                if f["messages"][c].dtype != np.dtype(dt):
                    rep.err("%s: /messages/%s has type %s, expected %s" % (name, c, f["messages"][c].dtype, dt))
                cols[c] = f["messages"][c][()]
            for c, dt in PROCESSOR_DTYPES.items():
                if "processors" not in f or c not in f["processors"]:
                    rep.err("%s: /processors/%s missing" % (name, c))
                    return None
                ds = f["processors"][c]
                if ds.dtype != np.dtype(dt) or ds.ndim != 1:
                    rep.err("%s: /processors/%s is %s%s, expected %s [n]" % (name, c, ds.dtype, ds.shape, dt))
                flat[c] = ds[()]
            if len(flat["logit_bias_value"]) != len(flat["logit_bias_token_id"]):
                rep.err("%s: logit_bias_value and logit_bias_token_id differ in length" % name)
                return None
    N = len(cols["message_id"])
    if N == 0:
        rep.err("%s: empty shard" % name)
        return None
    for c, v in cols.items():
        want = (N, 32) if c == "digest" else (N,)
        if v.shape != want:
            rep.err("%s: /messages/%s shape %s, expected %s" % (name, c, v.shape, want))
            return None
    recs = []
    for i in range(N):
        def g(c):
            return cols[c][i].item()
        bad = []
        mi, pi, si = g("model"), g("sampler_profile"), g("server")
        if mi >= len(models) or pi >= len(profiles) or si >= len(servers):
            rep.err("%s: record %d: table index out of range" % (name, i))
            continue
        model = models[mi]
        spans = []
        for part in ("prompt", "output"):
            off, ln = g(part + "_offset"), g(part + "_length")
            if off < 0 or ln < 1 or off + ln > T:
                bad.append("%s offset/length %d/%d out of range (T=%d)" % (part, off, ln, T))
                spans.append([])
            else:
                spans.append([int(t) for t in tokens[off:off + ln]])
        if any(t < 0 or t >= model["vocab_size"] for t in spans[0] + spans[1]):
            bad.append("token id outside [0, %d)" % model["vocab_size"])
        proc, eng = {}, None
        if version == 2:
            proc, eng = _read_v2(cols, flat, i, engines, model["vocab_size"], bad)
        for msg in bad:
            rep.err("%s: record %d (message id %d): %s" % (name, i, g("message_id"), msg))
        recs.append({
            "message_id": g("message_id"), "timestamp_us": g("timestamp_us"),
            "prompt_token_ids": spans[0], "output_token_ids": spans[1], "seed": g("seed"),
            "sampler": {"profile": profiles[pi], "temperature": g("temperature"),
                        "top_k": g("top_k"), "top_p": g("top_p"), "min_p": g("min_p")},
            "model": model["name"], "model_fingerprint": model["fingerprint"],
            "vocab_size": model["vocab_size"], "tokenizer": model["tokenizer"],
            "server": servers[si], "shard": None, "row": i,
            "_digest": cols["digest"][i].tobytes()})
        recs[-1]["sampler"].update(proc)
        if eng is not None and any(eng.values()):
            recs[-1]["engine"] = eng
    if len(recs) != N:
        return None
    info["records"] = recs
    info["prompt_lengths"] = cols["prompt_length"]
    info["output_lengths"] = cols["output_length"]
    return info


def _read_v2(cols, flat, i, engines, V, bad):
    """Spec 2.5 for record i: its processors (as export writes them: all nine keys, or none when
    all are off) and its engine; problems are appended to `bad`."""
    def g(c):
        return cols[c][i].item()

    def span(data, part):
        off, ln = g(part + "_offset"), g(part + "_length")
        if off < 0 or ln < 0 or off + ln > len(flat[data]):
            bad.append("%s range %d/%d outside /processors/%s" % (part, off, ln, data))
            return []
        return [x.item() for x in flat[data][off:off + ln]]
    p = {"repetition_penalty": g("repetition_penalty"), "presence_penalty": g("presence_penalty"),
         "frequency_penalty": g("frequency_penalty"), "min_tokens": g("min_tokens"),
         "repeat_last_n": g("repeat_last_n"), "stop_token_ids": span("stop_token_ids", "stop"),
         "allowed_token_ids": span("allowed_token_ids", "allowed")}
    bias_ids, bias_values = span("logit_bias_token_id", "logit_bias"), span("logit_bias_value", "logit_bias")
    p["logit_bias"] = [[t, b] for t, b in zip(bias_ids, bias_values)]
    words, seq = [], span("bad_words", "bad_words")
    while seq:
        n = seq[0]
        if n < 1 or n > len(seq) - 1:
            bad.append("bad_words sequence of length %d" % n)
            break
        words.append(seq[1:1 + n])
        seq = seq[1 + n:]
    p["bad_words"] = words
    if not (np.isfinite(p["repetition_penalty"]) and p["repetition_penalty"] > 0):
        bad.append("repetition_penalty %r" % p["repetition_penalty"])
    if not (np.isfinite(p["presence_penalty"]) and np.isfinite(p["frequency_penalty"])):
        bad.append("presence or frequency penalty not finite")
    if p["min_tokens"] < 0 or p["repeat_last_n"] < -1:
        bad.append("min_tokens %d / repeat_last_n %d" % (p["min_tokens"], p["repeat_last_n"]))
    all_ids = p["stop_token_ids"] + p["allowed_token_ids"] + bias_ids + [t for w in words for t in w]
    if any(t < 0 or t >= V for t in all_ids):
        bad.append("processor token id outside [0, %d)" % V)
    if len(set(bias_ids)) != len(bias_ids) or not all(np.isfinite(b) for b in bias_values):
        bad.append("logit_bias names a token twice or holds a non-finite bias")
    e = g("engine")
    if e >= len(engines):
        bad.append("engine index %d outside the table" % e)
        return p, None
    return (p if is_v2({"sampler": p}) else {}), engines[e]


def _counts(values):
    out = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def verify_archive(archive, key=None):
    """Check an archive against the whole specification. Returns a Report whose
    .records are the records in archive order (dicts as above plus 'shard' and 'row')."""
    rep = Report()
    try:
        with open(os.path.join(archive, "manifest.json"), encoding="utf-8") as fh:
            man = json.load(fh)
    except Exception as e:  # noqa: BLE001
        rep.err("manifest.json: cannot read: %s" % e)
        return rep
    if man.get("format") != "fssl-archive-manifest":
        rep.err("manifest: format is %r" % man.get("format"))
    if not (_is_int(man.get("format_version")) and man["format_version"] == 1):
        rep.err("manifest: format_version is %r" % man.get("format_version"))
    entries = man.get("shards")
    if not isinstance(entries, list) or not entries:
        rep.err("manifest: no shards")
        return rep
    prev_head, seen_ids, listed = ZERO32, set(), set()
    for k, ent in enumerate(entries):
        name = ent.get("file", "?")
        listed.add(name)
        mt = SHARD_RE.match(name)
        if not mt or int(mt.group(1)) != k or ent.get("index") != k:
            rep.err("manifest: shard %d: file %r / index %r do not match position"
                    % (k, name, ent.get("index")))
        path = os.path.join(archive, name)
        if not os.path.isfile(path):
            rep.err("%s: listed in manifest but missing" % name)
            continue
        if ent.get("bytes") != os.path.getsize(path):
            rep.err("%s: manifest bytes %r != file size %d" % (name, ent.get("bytes"), os.path.getsize(path)))
        if ent.get("sha256") != sha256_file(path):
            rep.err("%s: manifest sha256 does not match the file" % name)
        info = _read_shard(path, name, rep)
        if info is None:
            continue
        if info["format"] != "fssl-archive":
            rep.err("%s: format attribute %r" % (name, info["format"]))
        if info["format_version"] not in (1, 2):
            rep.err("%s: format_version %r" % (name, info["format_version"]))
        if info["shard_index"] != k:
            rep.err("%s: shard_index %r, expected %d" % (name, info["shard_index"], k))
        if info["chain_genesis"] != prev_head:
            rep.err("%s: chain_genesis %s != previous chain_head %s"
                    % (name, info["chain_genesis"].hex(), prev_head.hex()))
        recs = info["records"]
        prev = info["chain_genesis"]
        for i, r in enumerate(recs):
            r["shard"] = k
            if record_digest(prev, r) != r["_digest"]:
                rep.err("%s: record %d (message id %d): digest mismatch" % (name, i, r["message_id"]))
            prev = r["_digest"]
            if i and r["message_id"] <= recs[i - 1]["message_id"]:
                rep.err("%s: record %d: message id %d not increasing" % (name, i, r["message_id"]))
            if r["message_id"] in seen_ids:
                rep.err("%s: record %d: message id %d duplicated in the archive" % (name, i, r["message_id"]))
            seen_ids.add(r["message_id"])
        if info["chain_head"] != prev:
            rep.err("%s: chain_head does not equal the last record digest" % name)
        if key is not None:
            if "chain_hmac" not in info:
                rep.err("%s: chain_hmac missing (key given)" % name)
            elif not hmac.compare_digest(info["chain_hmac"], chain_hmac(key, info["chain_head"])):
                rep.err("%s: chain_hmac does not verify" % name)
        ts = [r["timestamp_us"] for r in recs]
        want = {
            "n_messages": len(recs),
            "n_prompt_tokens": int(info["prompt_lengths"].astype(np.int64).sum()),
            "n_output_tokens": int(info["output_lengths"].astype(np.int64).sum()),
            "first_message_id": recs[0]["message_id"], "last_message_id": recs[-1]["message_id"],
            "time_min_us": min(ts), "time_max_us": max(ts),
            "models": _counts(r["model"] for r in recs),
            "servers": _counts(r["server"] for r in recs),
            "sampler_profiles": _counts(r["sampler"]["profile"] for r in recs),
            "chain_genesis": info["chain_genesis"].hex(), "chain_head": info["chain_head"].hex(),
        }
        for f, w in want.items():
            got = ent.get(f)
            if isinstance(w, dict) and isinstance(got, dict):
                zero = {n: c for n, c in got.items() if c == 0 and n not in w}
                if zero:  # spec silent on zero counts; tolerate, but say so
                    rep.warnings.append("%s: manifest %s lists zero counts %r" % (name, f, zero))
                got = {n: c for n, c in got.items() if n not in zero}
                ok = got == w and all(_is_int(c) for c in got.values())
            else:
                ok = got == w and (not isinstance(w, int) or _is_int(got))
            if not ok:
                rep.err("%s: manifest %s is %r, shard gives %r" % (name, f, got, w))
        for k2, e2 in enumerate(entries[:k]):  # message-id ranges must not overlap
            if _is_int(e2.get("first_message_id")) and _is_int(e2.get("last_message_id")) and not (
                    want["last_message_id"] < e2["first_message_id"]
                    or want["first_message_id"] > e2["last_message_id"]):
                rep.err("%s: message-id range overlaps shard %d" % (name, k2))
        prev_head = info["chain_head"]
        rep.shards.append(info)
        for r in recs:
            del r["_digest"]
            rep.records.append(r)
    if key is not None:
        try:
            want_hmac = manifest_hmac(key, entries)
        except Exception as e:  # noqa: BLE001
            want_hmac = "<cannot compute: %s>" % e
        if man.get("hmac") != want_hmac:
            rep.err("manifest: hmac does not verify (got %r)" % man.get("hmac"))
    for fn in sorted(os.listdir(archive)):
        if SHARD_RE.match(fn) and fn not in listed:
            rep.warnings.append("%s: complete shard not listed in the manifest" % fn)
    return rep


def parse_cli(doc, self_test_help):
    """Common command line of the interop scripts: --fssl, --workdir, --self-test."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--fssl", help="path to the fssl binary")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--self-test", action="store_true", help=self_test_help)
    args = ap.parse_args()
    if not args.fssl and not args.self_test:
        ap.error("--fssl is required (or --self-test)")
    args.workdir = os.path.abspath(args.workdir)
    os.makedirs(args.workdir, exist_ok=True)
    return args
