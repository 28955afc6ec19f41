#!/usr/bin/python3
"""Checks a safetensors file written by another program (our Java writer) against the format spec and HF's layout.

usage: check_safetensors.py FILE [--rounded-from REF]

Checks: strict spec load (header length a multiple of 8 and starting with '{', offsets covering the data section
with no hole, overlap or trailing byte, sizes matching shapes), __metadata__ == {"format": "pt"}, and data ordered
like HF's writer (element size descending, then name). With --rounded-from REF, every tensor of FILE must equal
torch's own conversion of the same-named tensor of REF to FILE's dtype, bit for bit except NaN payloads (REF is usually
an F32 file).
Prints a JSON summary on stdout: {name: {"dtype", "shape", "f32_bits" | "values"}}; exits 1 with a message on failure.
"""
import json
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)


def data_order(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n).decode("utf-8"))
    header.pop("__metadata__", None)
    return [name for name, _ in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0])], header


def bits(t):
    t = t.contiguous()
    if t.element_size() == 2:
        return t.view(torch.int16).flatten().tolist()
    if t.element_size() == 4:
        return t.view(torch.int32).flatten().tolist()
    return t.view(torch.int64).flatten().tolist()


def main(argv):
    if len(argv) not in (2, 4) or (len(argv) == 4 and argv[2] != "--rounded-from"):
        fail(__doc__)
    path = argv[1]
    try:
        tensors, metadata = safetensors_io.load(path, strict=True)
    except (ValueError, KeyError, UnicodeDecodeError, json.JSONDecodeError) as e:
        fail(f"{path}: not a valid safetensors file: {e}")
    if metadata != {"format": "pt"}:
        fail(f"{path}: __metadata__ is {metadata}, expected {{'format': 'pt'}}")
    order, header = data_order(path)
    hf_order = sorted(order, key=lambda n: (-safetensors_io.DTYPES[header[n]["dtype"]][1], n))
    if order != hf_order:
        fail(f"{path}: data order {order} differs from HF's (element size descending, then name) {hf_order}")
    if len(argv) == 4:
        reference, _ = safetensors_io.load(argv[3], strict=True)
        for name, t in tensors.items():
            if name not in reference:
                fail(f"{path}: tensor {name} is not in the reference {argv[3]}")
            expected = reference[name].to(t.dtype)
            if list(expected.shape) != list(t.shape):
                fail(f"{path}: tensor {name} has shape {list(t.shape)}, reference {list(expected.shape)}")
            # NaN payloads are not part of the contract (torch 1.13 narrows NaN to BF16 0xffff, newer torch to
            # 0x7fc0): a NaN must stay a NaN, every other value must match bit for bit.
            same = [x == y for x, y in zip(bits(expected), bits(t))]
            if t.is_floating_point():
                both_nan = (torch.isnan(expected) & torch.isnan(t)).flatten().tolist()
                same = [s or n for s, n in zip(same, both_nan)]
            if not all(same):
                diff = same.count(False)
                fail(f"{path}: tensor {name}: {diff} elements differ from torch's rounding of the reference")
    summary = {}
    for name, t in tensors.items():
        entry = {"dtype": safetensors_io.NAME_OF[t.dtype], "shape": list(t.shape)}
        if t.is_floating_point():
            entry["f32_bits"] = t.to(torch.float32).contiguous().view(torch.int32).flatten().tolist()
        else:
            entry["values"] = t.flatten().tolist()
        summary[name] = entry
    json.dump(summary, sys.stdout)
    print()


if __name__ == "__main__":
    main(sys.argv)
