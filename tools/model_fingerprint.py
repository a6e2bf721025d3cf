#!/usr/bin/env python3
"""Compute the fssl model fingerprint (v1) of a Hugging Face model directory.

The fingerprint is the identity an inference server logs with every message
(archive model table, field ``fingerprint``); the audit compares it against
the model it replays. It is defined in docs/model-format.md, section
"Model fingerprint (v1)". This tool is an independent, standard-library-only
implementation of that definition, so that server owners can compute the value
without fssl, numpy, torch or the ``safetensors`` package.

Usage::

    python3 tools/model_fingerprint.py MODEL_DIR            # prints the hex fingerprint
    python3 tools/model_fingerprint.py MODEL_DIR --verbose  # also prints the hashed preimage
                                                             # (tensor lines included) to stderr

MODEL_DIR must contain ``config.json`` and either ``model.safetensors`` or
sharded ``model-*.safetensors`` files listed by ``model.safetensors.index.json``
(the layout ``save_pretrained`` writes). If both a single ``model.safetensors``
and an index exist, the single file is used (as transformers does).

Definition (v1): lower-case hex SHA-256 of the UTF-8 byte string

    "fssl-model-v1\\n"
    for key in FINGERPRINT_KEYS, in this order:
        key "=" canonical(config[key]) "\\n"       (a missing key is written as null)
    for each tensor, sorted by name (byte order), over all shards:
        name "\\n" dtype "\\n" shape "\\n" sha256hex(tensor bytes) "\\n"

Re-sharding the weights does not change the fingerprint; any changed weight,
dtype or architecture-relevant config value does. Reading is streamed, so
multi-GB checkpoints need little memory.

Exit status: 0 on success, 1 on any error (the message names the offending file).
"""

import argparse
import hashlib
import json
import math
import os
import struct
import sys

FINGERPRINT_VERSION_TAG = "fssl-model-v1\n"

EXPERT_KEYS = ("num_experts", "num_local_experts", "num_experts_per_tok", "moe_intermediate_size", "norm_topk_prob",
               "decoder_sparse_step", "mlp_only_layers")

FINGERPRINT_KEYS = (
    "architectures",
    "model_type",
    "vocab_size",
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "head_dim",
    "hidden_act",
    "rms_norm_eps",
    "rope_theta",
    "rope_scaling",
    "rope_parameters",
    "tie_word_embeddings",
    "attention_bias",
    "mlp_bias",
    "use_sliding_window",
    "sliding_window",
)

# Upper bound on a safetensors JSON header; the format itself caps it at 100 MB.
_MAX_HEADER_BYTES = 100 * 1024 * 1024
_CHUNK = 1 << 20


class FingerprintError(Exception):
    """A model directory or file that cannot be fingerprinted."""


def canonical(value):
    """Canonical text of a JSON value, as the v1 definition prescribes.

    null/true/false; integers in decimal; floats with C's %.17g (so 10000.0 and
    10000 both give "10000"); strings as their raw text (no quotes, no escaping);
    lists as "[" items joined by "," "]"; objects as "{" "key:value" pairs sorted
    by key (byte order of the UTF-8 key) joined by ";" "}".
    """
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise FingerprintError("non-finite float %r in config" % (value,))
        return "%.17g" % value
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value.keys(), key=lambda k: k.encode("utf-8"))
        return "{" + ";".join("%s:%s" % (k, canonical(value[k])) for k in keys) + "}"
    raise FingerprintError("unsupported JSON value of type %s" % type(value).__name__)


def _reject_constant(name):
    raise ValueError("non-standard JSON constant %s" % name)


def _load_json(path):
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise FingerprintError("%s: cannot read: %s" % (path, e.strerror or e))
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as e:
        raise FingerprintError("%s: invalid JSON: %s" % (path, e))


def read_safetensors_header(path):
    """Parse a safetensors file header without the safetensors package.

    Returns (data_start, tensors) where tensors maps name -> (dtype, shape,
    begin, end), begin/end being absolute byte offsets in the file. The
    ``__metadata__`` entry is skipped.
    """
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            prefix = f.read(8)
            if len(prefix) != 8:
                raise FingerprintError("%s: truncated safetensors file (no 8-byte header length)" % path)
            (hlen,) = struct.unpack("<Q", prefix)
            if hlen > _MAX_HEADER_BYTES or 8 + hlen > size:
                raise FingerprintError("%s: bad safetensors header length %d (file is %d bytes)" % (path, hlen, size))
            header_bytes = f.read(hlen)
    except OSError as e:
        raise FingerprintError("%s: cannot read: %s" % (path, e.strerror or e))
    try:
        header = json.loads(header_bytes.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise FingerprintError("%s: safetensors header is not valid JSON: %s" % (path, e))
    if not isinstance(header, dict):
        raise FingerprintError("%s: safetensors header is not a JSON object" % path)
    data_start = 8 + hlen
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype = info["dtype"]
            shape = info["shape"]
            begin, end = info["data_offsets"]
            if not (isinstance(dtype, str) and isinstance(shape, list)
                    and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
                    and isinstance(begin, int) and isinstance(end, int)):
                raise TypeError
        except (KeyError, TypeError, ValueError):
            raise FingerprintError("%s: malformed header entry for tensor %r" % (path, name))
        if not (0 <= begin <= end and data_start + end <= size):
            raise FingerprintError("%s: tensor %r data_offsets [%d, %d] out of range" % (path, name, begin, end))
        tensors[name] = (dtype, shape, data_start + begin, data_start + end)
    return data_start, tensors


def _sha256_range(path, f, begin, end):
    h = hashlib.sha256()
    f.seek(begin)
    remaining = end - begin
    while remaining > 0:
        chunk = f.read(min(_CHUNK, remaining))
        if not chunk:
            raise FingerprintError("%s: unexpected end of file" % path)
        h.update(chunk)
        remaining -= len(chunk)
    return h.hexdigest()


def weight_files(model_dir):
    """The safetensors files of a model directory, per the HF layout."""
    single = os.path.join(model_dir, "model.safetensors")
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.isfile(single):
        return [single], None
    if os.path.isfile(index):
        idx = _load_json(index)
        wmap = idx.get("weight_map") if isinstance(idx, dict) else None
        if not isinstance(wmap, dict) or not wmap:
            raise FingerprintError("%s: missing or empty \"weight_map\"" % index)
        files = []
        for fname in wmap.values():
            if not isinstance(fname, str) or os.path.basename(fname) != fname:
                raise FingerprintError("%s: bad shard file name %r" % (index, fname))
            if fname not in files:
                files.append(fname)
        return [os.path.join(model_dir, fn) for fn in sorted(files)], (index, wmap)
    raise FingerprintError("%s: neither model.safetensors nor model.safetensors.index.json found" % model_dir)


def fingerprint(model_dir, preimage_out=None):
    """Return the v1 fingerprint (lower-case hex) of MODEL_DIR."""
    config_path = os.path.join(model_dir, "config.json")
    config = _load_json(config_path)
    if not isinstance(config, dict):
        raise FingerprintError("%s: not a JSON object" % config_path)

    parts = [FINGERPRINT_VERSION_TAG]
    for key in FINGERPRINT_KEYS:
        try:
            parts.append("%s=%s\n" % (key, canonical(config.get(key))))
        except FingerprintError as e:
            raise FingerprintError("%s: key %r: %s" % (config_path, key, e))

    # Routing (top-k, renormalisation, which layers are sparse) changes the computation without
    # changing a tensor: configs with experts add these lines; dense fingerprints are unchanged.
    if "num_experts" in config or "num_local_experts" in config:
        for key in EXPERT_KEYS:
            parts.append("%s=%s\n" % (key, canonical(config.get(key))))

    files, index = weight_files(model_dir)
    where = {}  # tensor name -> (path, dtype, shape, begin, end)
    for path in files:
        _, tensors = read_safetensors_header(path)
        for name, (dtype, shape, begin, end) in tensors.items():
            if name in where:
                raise FingerprintError("%s: tensor %r also stored in %s" % (path, name, where[name][0]))
            where[name] = (path, dtype, shape, begin, end)
    if index is not None:
        index_path, wmap = index
        for name, fname in wmap.items():
            if name not in where:
                raise FingerprintError("%s: tensor %r listed in %s is missing from it" % (index_path, name, fname))
            if os.path.basename(where[name][0]) != fname:
                raise FingerprintError("%s: tensor %r listed in %s but stored in %s"
                                       % (index_path, name, fname, where[name][0]))
        for name in where:
            if name not in wmap:
                raise FingerprintError("%s: tensor %r (in %s) is not in the weight_map"
                                       % (index_path, name, where[name][0]))
    if not where:
        raise FingerprintError("%s: no tensors found" % model_dir)

    handles = {}
    try:
        for name in sorted(where, key=lambda n: n.encode("utf-8")):
            path, dtype, shape, begin, end = where[name]
            if path not in handles:
                try:
                    handles[path] = open(path, "rb")
                except OSError as e:
                    raise FingerprintError("%s: cannot read: %s" % (path, e.strerror or e))
            digest = _sha256_range(path, handles[path], begin, end)
            parts.append("%s\n%s\n%s\n%s\n" % (name, dtype, ",".join(str(d) for d in shape), digest))
    finally:
        for f in handles.values():
            f.close()

    preimage = "".join(parts).encode("utf-8")
    if preimage_out is not None:
        preimage_out.write(preimage.decode("utf-8"))
    return hashlib.sha256(preimage).hexdigest()


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Print the fssl model fingerprint (v1, docs/model-format.md) of a "
                    "Hugging Face model directory (config.json + model.safetensors or "
                    "sharded model-*.safetensors with model.safetensors.index.json).")
    parser.add_argument("model_dir", metavar="MODEL_DIR", help="Hugging Face model directory")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="write the hashed preimage to stderr before the fingerprint")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.model_dir):
        print("model_fingerprint: %s: not a directory" % args.model_dir, file=sys.stderr)
        return 1
    try:
        fp = fingerprint(args.model_dir, sys.stderr if args.verbose else None)
    except FingerprintError as e:
        print("model_fingerprint: %s" % e, file=sys.stderr)
        return 1
    print(fp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
