"""Independent Python reading of docs/archive-format.md (fssl log archive, format v1).

Written from the specification only (standard library + h5py + numpy), so that it can
check the C++ implementation.  Shared by h5py_writes_fssl_reads.py and
fssl_writes_h5py_reads.py.

A *record* is a plain dict, the same shape as one line of `fssl archive export`:
    {"message_id", "timestamp_us", "prompt_token_ids", "output_token_ids", "seed",
     "sampler": {"profile", "temperature", "top_k", "top_p", "min_p"},
     "model", "model_fingerprint", "vocab_size", "tokenizer", "server"}
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


def record_digest(prev, r):
    """Spec 3.1."""
    def s(x):
        b = x.encode("utf-8")
        return struct.pack("<I", len(b)) + b
    sp = r["sampler"]
    m = (REC_TAG + bytes(prev)
         + struct.pack("<QqQfiff", r["message_id"], r["timestamp_us"], r["seed"],
                       sp["temperature"], sp["top_k"], sp["top_p"], sp["min_p"])
         + s(sp["profile"]) + s(r["model"]) + s(r["model_fingerprint"])
         + struct.pack("<I", r["vocab_size"]) + s(r["tokenizer"]) + s(r["server"])
         + struct.pack("<II", len(r["prompt_token_ids"]), len(r["output_token_ids"]))
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
    return out


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
        info.update(models=models, sampler_profiles=profiles, servers=servers)
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
    if len(recs) != N:
        return None
    info["records"] = recs
    info["prompt_lengths"] = cols["prompt_length"]
    info["output_lengths"] = cols["output_length"]
    return info


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
        if info["format_version"] != 1:
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
