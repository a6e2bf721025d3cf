#!/usr/bin/env python3
"""Flips one output token of one record in a copy of an archive (h5py), as an attacker with
write access to the log store would, so the demo can show validate naming the record."""
import sys

import h5py

shard_path, row = sys.argv[1], int(sys.argv[2])
with h5py.File(shard_path, "r+") as f:
    offset = int(f["/messages/output_offset"][row])
    token = int(f["/tokens"][offset])
    f["/tokens"][offset] = (token + 1) % 512
    print(f"# tamper: {shard_path} record {row} (message id {int(f['/messages/message_id'][row])}): "
          f"first output token {token} -> {(token + 1) % 512}")
