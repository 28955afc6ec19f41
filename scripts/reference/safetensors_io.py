#!/usr/bin/python3
"""Safetensors read/write written by hand from the format spec, shared by the reference scripts.

Layout (https://github.com/huggingface/safetensors, "Format"): 8 bytes little-endian u64 N, then N bytes of
UTF-8 JSON {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}} padded with
spaces, then the data section; offsets are relative to the start of the data section, little-endian values.
Written independently of the Java code so that fixtures made here test it rather than mirror it.
"""
import json
import struct

import numpy as np
import torch

# safetensors dtype name -> (torch dtype, bytes per element)
DTYPES = {
    "F64": (torch.float64, 8),
    "F32": (torch.float32, 4),
    "F16": (torch.float16, 2),
    "BF16": (torch.bfloat16, 2),
    "I64": (torch.int64, 8),
    "I32": (torch.int32, 4),
    "I16": (torch.int16, 2),
    "I8": (torch.int8, 1),
    "U8": (torch.uint8, 1),
    "BOOL": (torch.bool, 1),
}
NAME_OF = {torch_dtype: name for name, (torch_dtype, _) in DTYPES.items()}


def tensor_bytes(t):
    """Raw little-endian bytes of a tensor (numpy has no bfloat16: reinterpret its bits as int16)."""
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    arr = t.numpy()
    return arr.astype(arr.dtype.newbyteorder("<")).tobytes()


def tensor_from_bytes(raw, dtype_name, shape):
    torch_dtype, _ = DTYPES[dtype_name]
    if torch_dtype == torch.bfloat16:
        bits = np.frombuffer(raw, dtype="<i2").copy()
        return torch.from_numpy(bits).view(torch.bfloat16).reshape(shape)
    np_dtype = torch.empty((), dtype=torch_dtype).numpy().dtype.newbyteorder("<")
    return torch.from_numpy(np.frombuffer(raw, dtype=np_dtype).copy()).reshape(shape)


def encode_header(header):
    """Compact JSON padded with spaces to a multiple of 8 bytes, as HF's writer does."""
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    return raw + b" " * (-len(raw) % 8)


def write_raw(path, header, data, header_len=None):
    """Write any header dict and data bytes, valid or not; corrupt fixtures are made with this."""
    encoded = encode_header(header) if isinstance(header, dict) else header
    n = len(encoded) if header_len is None else header_len
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", n))
        f.write(encoded)
        f.write(data)


def save(path, tensors, metadata=None):
    """Save {name: torch.Tensor}. Data is ordered by element size (largest first) then name, like HF."""
    if metadata is None:
        metadata = {"format": "pt"}
    order = sorted(tensors, key=lambda n: (-DTYPES[NAME_OF[tensors[n].dtype]][1], n))
    header = {"__metadata__": metadata}
    chunks = []
    offset = 0
    for name in order:
        t = tensors[name]
        raw = tensor_bytes(t)
        header[name] = {"dtype": NAME_OF[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    write_raw(path, header, b"".join(chunks))


def load(path, strict=True):
    """Return ({name: torch.Tensor in its stored dtype}, metadata); strict checks follow the spec."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError(f"{path}: shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", blob[:8])
    if 8 + n > len(blob):
        raise ValueError(f"{path}: header length {n} runs past the end of the file ({len(blob)} bytes)")
    header_bytes = blob[8:8 + n]
    if strict:
        if n % 8 != 0:
            raise ValueError(f"{path}: header length {n} is not a multiple of 8")
        if not header_bytes.startswith(b"{"):
            raise ValueError(f"{path}: header does not start with '{{'")
    header = json.loads(header_bytes.decode("utf-8"))
    metadata = header.pop("__metadata__", None)
    data = blob[8 + n:]
    tensors = {}
    spans = []
    for name, info in header.items():
        dtype_name = info["dtype"]
        shape = [int(d) for d in info["shape"]]
        begin, end = info["data_offsets"]
        numel = 1
        for d in shape:
            numel *= d
        if end < begin or end > len(data):
            raise ValueError(f"{path}: tensor {name}: data_offsets {begin}..{end} outside data of {len(data)} bytes")
        if end - begin != numel * DTYPES[dtype_name][1]:
            raise ValueError(f"{path}: tensor {name}: {end - begin} bytes for shape {shape} {dtype_name}")
        spans.append((begin, end, name))
        tensors[name] = tensor_from_bytes(data[begin:end], dtype_name, shape)
    if strict:
        position = 0
        for begin, end, name in sorted(spans):
            if begin != position:
                raise ValueError(f"{path}: tensor {name} starts at {begin}, expected {position} (hole or overlap)")
            position = end
        if position != len(data):
            raise ValueError(f"{path}: data section has {len(data) - position} trailing bytes")
    return tensors, metadata
