"""Golden hashes for SGLang's seeded sampler noise from the PyPI mmh3 package (MurmurHash3_x86_32,
seed 0) over the 16 little-endian bytes [seed lo, seed hi, position lo, column] that SGLang's
murmur_hash32 mixes (python/sglang/srt/layers/utils/hash.py). Independent of fssl:
    python3 -m venv /tmp/tv && /tmp/tv/bin/pip install mmh3 && /tmp/tv/bin/python gen_sglang_murmur_golden.py
One line per case: seed64 position64 column32 hash32 (hex)."""
import struct

import mmh3

cases = [(7847, 12345, 1208)]  # sglang#25106: hashes to 0xffffffff
seeds = [0, 1, 42, 7847, 2**32 - 1, 2**32, 2**63 - 1, 2**64 - 1, 2**64 - 12345]  # 2**64 - k: int64 seed -k
positions = [0, 1, 17, 4095, 2**31, 2**32 + 5]  # SGLang keeps the low 32 bits of the position
columns = [0, 1, 1208, 32767, 151935, 262143]
for s in seeds:
    for p in positions:
        for c in columns:
            cases.append((s, p, c))
print("# SGLang murmur_hash32 golden from mmh3 %s: seed64 position64 column32 hash32" % mmh3.__version__
      if hasattr(mmh3, "__version__") else "# SGLang murmur_hash32 golden from mmh3: seed64 position64 column32 hash32")
for s, p, c in cases:
    data = struct.pack("<IIII", s & 0xFFFFFFFF, s >> 32, p & 0xFFFFFFFF, c)
    h = mmh3.hash(data, 0, signed=False)
    print("%016x %016x %08x %08x" % (s, p, c, h))
