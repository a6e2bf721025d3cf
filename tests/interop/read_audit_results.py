#!/usr/bin/python3
"""Prints an fssl results.h5 as JSON, read with h5py alone following docs/results-format.md.

    /usr/bin/python3 read_audit_results.py results.h5

Used by tests/audit_results_test.cpp to check the C++ writer independently of its own code.
Output: {"attrs": {name: {"dtype", "value"}}, "datasets": {"group/name": {"dtype", "shape",
"compression", "value"}}, "per_message": [...]}. Non-finite floats are the strings "NaN",
"Infinity" and "-Infinity" (strict JSON has no such numbers). Strings are str (UTF-8 decoded).
"per_message" re-reads each scored message's tokens with the recipe of the format document
(token_offset / output_tokens slices, rows cut to the message family's width).
"""
import json
import math
import sys

import h5py
import numpy as np


def plain(value):
    """numpy / h5py values -> JSON-ready Python values."""
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()] if value.dtype != object else [plain(v) for v in value]
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
    return value


def dtype_name(dtype):
    info = h5py.check_string_dtype(dtype)
    if info is not None:
        return "string:%s:%s" % (info.encoding, "vlen" if info.length is None else info.length)
    return dtype.str  # byte order + kind + size, e.g. "<u4"


def read_dataset(ds):
    if h5py.check_string_dtype(ds.dtype) is not None:
        value = list(ds.asstr()[...])
    else:
        value = ds[...]
    return {"dtype": dtype_name(ds.dtype), "shape": list(ds.shape), "compression": ds.compression,
            "value": plain(value)}


def per_message(f):
    """Each scored message's tokens, the way docs/results-format.md tells users to read them."""
    m, t = f["messages"], f["tokens"]
    n_sigmas = {False: len(f.attrs["sigmas"]), True: len(f.attrs["ipt_sigmas"])}
    n_grid = {False: len(f.attrs["margin_grid"]), True: len(f.attrs["ipt_distance_grid"])}
    out = []
    for i in range(m["message_id"].shape[0]):
        off, n = int(m["token_offset"][i]), int(m["output_tokens"][i])
        ipt = bool(m["inverse_cdf"][i])
        rows = slice(off, off + n)
        out.append({
            "message_id": int(m["message_id"][i]),
            "margin": plain(t["margin"][rows]),
            "likelihood": plain(t["likelihood"][rows, :n_sigmas[ipt]]),
            "admissible": plain(t["admissible"][rows, :n_grid[ipt]]),
        })
    return out


def main():
    with h5py.File(sys.argv[1], "r") as f:
        attrs = {name: {"dtype": dtype_name(f.attrs.get_id(name).dtype), "value": plain(f.attrs[name])}
                 for name in f.attrs}
        datasets = {}
        for group in ("messages", "tokens"):
            for name, ds in f[group].items():
                datasets[group + "/" + name] = read_dataset(ds)
        out = {"attrs": attrs, "datasets": datasets, "per_message": per_message(f)}
    json.dump(out, sys.stdout, allow_nan=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
