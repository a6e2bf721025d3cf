#!/usr/bin/env python3
"""Writes the reference safetensors files that tests/safetensors_test.cpp reads.

The bytes come from Hugging Face's own `safetensors` package (the Rust serializer behind
safetensors.numpy), so the C++ reader and writer are checked against an independent implementation.
Run from anywhere; it writes next to itself and is deterministic (it serializes twice and compares):

    python3 -m venv /tmp/stvenv && /tmp/stvenv/bin/pip install safetensors numpy
    /tmp/stvenv/bin/python tests/data/safetensors/generate.py

Files (checked in with safetensors 0.8.0, numpy 2.4.6):
  reference.safetensors  one tensor of every dtype fssl knows, a scalar, a zero-element tensor and
                         one metadata entry. Element values follow the formulas in TENSORS below;
                         the C++ test hard-codes the same values.
  empty.safetensors      no tensors and no metadata: the smallest legal file.

Only one metadata key: the library keeps metadata in a Rust HashMap, so with two or more keys the
order in the header changes from run to run and no byte-exact reference could be committed.
"""
import pathlib

import numpy as np
from safetensors import TensorSpec, __version__, serialize

HERE = pathlib.Path(__file__).resolve().parent


def bf16(values):
    """bfloat16 bit patterns (upper half of float32); the values are chosen to be exact."""
    f = np.asarray(values, dtype=np.float32)
    bits = f.view(np.uint32)
    assert np.all(bits & 0xFFFF == 0), "value not exactly representable in bfloat16"
    return (bits >> 16).astype(np.uint16)


# name -> (safetensors dtype string accepted by TensorSpec, array). Names are alphabetical in an
# order different from the library's write order (widest dtype first), so the test sees both.
TENSORS = {
    "a.bool": ("bool", np.arange(5) % 2 == 1),                                    # F T F T F
    "b.u8": ("uint8", (np.arange(6) * 40).astype(np.uint8).reshape(2, 3)),         # 0 40 .. 200
    "c.i8": ("int8", (np.arange(4) * -3).astype(np.int8)),                         # 0 -3 -6 -9
    "d.i16": ("int16", (np.arange(3) * -1000 + 7).astype(np.int16)),               # 7 -993 -1993
    "e.f16": ("float16", (np.arange(4) * 0.5 - 1).astype(np.float16).reshape(2, 2)),
    "f.bf16": ("bfloat16", bf16([1.0, -2.5, 3.140625])),
    "g.i32": ("int32", (np.arange(4) * 100000 - 150000).astype(np.int32).reshape(2, 2)),
    "h.f32": ("float32", (np.arange(6) * 0.25 + 1).astype(np.float32).reshape(2, 3)),
    "i.f64": ("float64", np.arange(3) / 4 - 0.125),                               # -0.125 .125 .375
    "j.i64": ("int64", np.array([-(2**40), 2**62 + 5], dtype=np.int64)),
    "k.empty": ("float32", np.zeros((0, 4), dtype=np.float32)),
    "l.scalar": ("float64", np.array(3.5, dtype=np.float64)),
}
METADATA = {"note": 'fssl reference "v1"\t\u00fc'}


def to_bytes(tensors, metadata):
    keep_alive = []
    specs = {}
    for name, (dtype, array) in tensors.items():
        a = np.array(array, order="C", copy=True)  # ascontiguousarray would make a scalar 1-d
        keep_alive.append(a)
        specs[name] = TensorSpec(dtype=dtype, shape=list(a.shape), data_ptr=a.ctypes.data, data_len=a.nbytes)
    out = bytes(serialize(specs, metadata=metadata))
    del keep_alive
    return out


def write(name, tensors, metadata):
    data = to_bytes(tensors, metadata)
    assert data == to_bytes(tensors, metadata), f"{name}: serializer output is not deterministic"
    assert len(data) < 10_000
    (HERE / name).write_bytes(data)
    print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    print(f"safetensors {__version__}, numpy {np.__version__}")
    write("reference.safetensors", TENSORS, METADATA)
    write("empty.safetensors", {}, None)
