#!/usr/bin/python3
"""Golden safetensors fixtures for the Java checkpoint IO tests (trainer/src/test/resources/safetensors/).

Run from the repository root:  /usr/bin/python3 scripts/reference/make_safetensors_fixtures.py
Files are written by safetensors_io.py (the format spec, by hand) and the expected values come from torch's own
dtype conversions, so the Java reader is checked against an implementation it did not produce.

Outputs:
  dtypes.safetensors + dtypes.expected.json      F32/F16/BF16/F64/I64/I32 tensors with edge values (subnormals, +-0,
                                                 +-inf, NaN, extremes), a scalar and an empty tensor; expected
                                                 float32 bit patterns of every float tensor after widening
  tiny-llama/{f32-sharded,f16,bf16}/             one tiny Llama (vocab 16, hidden 8, 2 layers, 2 heads, 1 KV head)
                                                 as a 3-shard F32 checkpoint with index, and single-file F16 and BF16
  tiny-llama.expected.json                       float32 bits of every weight as read from each of the three
  corrupt/*.safetensors                          truncated file, header past end, bad JSON, offsets out of range,
                                                 overlapping tensors, size/shape mismatch, unknown dtype, hole
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

OUT = os.path.join("trainer", "src", "test", "resources", "safetensors")

TINY_CONFIG = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "vocab_size": 16,
    "hidden_size": 8,
    "intermediate_size": 12,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "hidden_act": "silu",
    "rms_norm_eps": 1e-05,
    "rope_theta": 10000.0,
    "max_position_embeddings": 64,
    "tie_word_embeddings": False,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "torch_dtype": "float32",
}


def f32_bits(t):
    """float32 bit patterns (as signed ints) of a tensor widened to float32 by torch."""
    return t.to(torch.float32).contiguous().view(torch.int32).flatten().tolist()


def dtype_fixture():
    nan = float("nan")
    inf = float("inf")
    tensors = {
        "f32.values": torch.tensor([[0.0, -0.0, 1.5, -3.25, 1e-40], [inf, -inf, nan, 3.4e38, 1.0 / 3.0]],
                                   dtype=torch.float32),
        "f16.values": torch.tensor([0.0, -0.0, 1.0, -2.5, 65504.0, -65504.0, 2.0 ** -24, 1e-5, inf, -inf, nan, 0.1],
                                   dtype=torch.float16),
        "bf16.values": torch.tensor([[0.0, -0.0, 1.0, -2.5], [1e-39, 3e38, -3e38, 0.1], [inf, -inf, nan, 255.0]],
                                    dtype=torch.bfloat16),
        "f64.values": torch.tensor([1.0 / 3.0, -1e-300, 1e300, 0.1, 2.0 ** -149, -0.0], dtype=torch.float64),
        "i64.values": torch.tensor([0, -1, 2 ** 40, -(2 ** 62)], dtype=torch.int64),
        "i32.values": torch.tensor([[7, -7], [2 ** 31 - 1, -(2 ** 31)]], dtype=torch.int32),
        "f32.scalar": torch.tensor(7.0, dtype=torch.float32),
        "f32.empty": torch.zeros((0, 3), dtype=torch.float32),
    }
    g = torch.Generator().manual_seed(1234)
    tensors["f16.matrix"] = torch.randn(7, 9, generator=g).to(torch.float16)
    tensors["bf16.matrix"] = torch.randn(5, 13, generator=g).to(torch.bfloat16)
    safetensors_io.save(os.path.join(OUT, "dtypes.safetensors"), tensors)
    expected = {}
    for name, t in tensors.items():
        entry = {"dtype": safetensors_io.NAME_OF[t.dtype], "shape": list(t.shape)}
        if t.is_floating_point():
            entry["f32_bits"] = f32_bits(t)
        else:
            entry["values"] = t.flatten().tolist()
        expected[name] = entry
    write_json(os.path.join(OUT, "dtypes.expected.json"), expected)


def tiny_llama_weights():
    c = TINY_CONFIG
    h, inter, v = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    kv = c["num_key_value_heads"] * h // c["num_attention_heads"]
    g = torch.Generator().manual_seed(42)
    shapes = {"model.embed_tokens.weight": (v, h)}
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        shapes.update({
            p + "self_attn.q_proj.weight": (h, h),
            p + "self_attn.k_proj.weight": (kv, h),
            p + "self_attn.v_proj.weight": (kv, h),
            p + "self_attn.o_proj.weight": (h, h),
            p + "mlp.gate_proj.weight": (inter, h),
            p + "mlp.up_proj.weight": (inter, h),
            p + "mlp.down_proj.weight": (h, inter),
            p + "input_layernorm.weight": (h,),
            p + "post_attention_layernorm.weight": (h,),
        })
    shapes["model.norm.weight"] = (h,)
    shapes["lm_head.weight"] = (v, h)
    return {name: torch.randn(*shape, generator=g) for name, shape in shapes.items()}


def tiny_llama_fixture():
    weights = tiny_llama_weights()
    base = os.path.join(OUT, "tiny-llama")
    # Sharded F32: three shards split in key order, with the HF index file.
    sharded = os.path.join(base, "f32-sharded")
    os.makedirs(sharded, exist_ok=True)
    names = list(weights)
    groups = [names[:8], names[8:16], names[16:]]
    weight_map = {}
    total = 0
    for k, group in enumerate(groups, start=1):
        shard = f"model-{k:05d}-of-{len(groups):05d}.safetensors"
        safetensors_io.save(os.path.join(sharded, shard), {n: weights[n] for n in group})
        for n in group:
            weight_map[n] = shard
            total += weights[n].numel() * 4
    write_json(os.path.join(sharded, "model.safetensors.index.json"),
               {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))})
    write_json(os.path.join(sharded, "config.json"), TINY_CONFIG)
    expected = {"f32-sharded": {n: f32_bits(t) for n, t in weights.items()}}
    for label, dtype in (("f16", torch.float16), ("bf16", torch.bfloat16)):
        folder = os.path.join(base, label)
        os.makedirs(folder, exist_ok=True)
        narrowed = {n: t.to(dtype) for n, t in weights.items()}
        safetensors_io.save(os.path.join(folder, "model.safetensors"), narrowed)
        write_json(os.path.join(folder, "config.json"), dict(TINY_CONFIG, torch_dtype=str(dtype).split(".")[1]))
        expected[label] = {n: f32_bits(t) for n, t in narrowed.items()}
    write_json(os.path.join(OUT, "tiny-llama.expected.json"), expected)


def corrupt_fixtures():
    folder = os.path.join(OUT, "corrupt")
    os.makedirs(folder, exist_ok=True)
    a = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    b = torch.arange(4, dtype=torch.float32)
    data = safetensors_io.tensor_bytes(a) + safetensors_io.tensor_bytes(b)

    def header(a_offsets, b_offsets, a_shape=(2, 3), a_dtype="F32"):
        return {"__metadata__": {"format": "pt"},
                "a": {"dtype": a_dtype, "shape": list(a_shape), "data_offsets": list(a_offsets)},
                "b": {"dtype": "F32", "shape": [4], "data_offsets": list(b_offsets)}}

    def path(name):
        return os.path.join(folder, name + ".safetensors")

    good = header((0, 24), (24, 40))
    safetensors_io.write_raw(path("truncated"), good, data[:-6])
    encoded = safetensors_io.encode_header(good)
    safetensors_io.write_raw(path("header_past_end"), encoded, data, header_len=len(encoded) + len(data) + 64)
    safetensors_io.write_raw(path("bad_json"), b'{"a": {"dtype": "F32", "shape": [2, 3],' + b" " * 6, data)
    safetensors_io.write_raw(path("offsets_out_of_range"), header((0, 24), (24, 56)), data)
    safetensors_io.write_raw(path("overlap"), header((0, 24), (16, 32)), data[:32])
    safetensors_io.write_raw(path("size_mismatch"), header((0, 24), (24, 40), a_shape=(2, 4)), data)
    safetensors_io.write_raw(path("unknown_dtype"), header((0, 24), (24, 40), a_dtype="Q4"), data)
    safetensors_io.write_raw(path("hole"), header((0, 24), (28, 44)), data + b"\0" * 4)
    with open(path("not_safetensors"), "w") as f:
        f.write("this is a text file, not a checkpoint\n")


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")


def main():
    if not os.path.isdir("trainer"):
        sys.exit("run from the repository root")
    os.makedirs(OUT, exist_ok=True)
    np.random.seed(0)
    dtype_fixture()
    tiny_llama_fixture()
    corrupt_fixtures()
    print("wrote fixtures under", OUT)


if __name__ == "__main__":
    main()
