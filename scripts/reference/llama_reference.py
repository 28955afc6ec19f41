#!/usr/bin/python3
"""Golden values for the Java Llama (trainer/src/test/resources/reference/), written from the equations.

Llama-2 as published (Touvron et al. 2023) in the Hugging Face layout, implemented here directly:
  RMSNorm:   y = w * x / sqrt(mean(x^2) + eps)
  RoPE:      angle(p, i) = p / theta^(2i/d) for i < d/2, repeated over both halves ("rotate half" layout);
             rope(x) = x * cos + concat(-x[d/2:], x[:d/2]) * sin
  Attention: softmax(q k^T / sqrt(d) + mask) v; KV head j serves query heads j*r .. j*r+r-1 (r = heads/kv_heads);
             token i sees token j iff same packed sample (segment id != 0) and j <= i; padding sees only itself
  MLP:       down(silu(gate(x)) * up(x)), silu(z) = z * sigmoid(z)
  Layer:     h = x + attn(norm1(x)); out = h + mlp(norm2(h)); final norm; logits = out @ head^T (head = embed if tied)
  Loss:      sum over tokens with loss_mask = 1 of -log softmax(logits)[target]
Everything is computed in float64 from the stored weights (upcast), then rounded to float32 for the fixtures,
so the goldens are more exact than any float32 implementation. Nothing here was derived from the Java code.

Usage: scripts/reference/llama_reference.py [OUT_DIR]  (default trainer/src/test/resources/reference)
Checkpoints are written with safetensors_io.py (hand-written from the format spec; torch 1.13 has no safetensors).
"""
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

DTYPE_NAMES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def config_dict(vocab, hidden, inter, layers, heads, kv_heads, eps, theta, tied, dtype):
    return {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
        "vocab_size": vocab, "hidden_size": hidden, "intermediate_size": inter, "num_hidden_layers": layers,
        "num_attention_heads": heads, "num_key_value_heads": kv_heads, "rms_norm_eps": eps, "rope_theta": theta,
        "max_position_embeddings": 64, "tie_word_embeddings": tied, "bos_token_id": 1, "eos_token_id": 2,
        "torch_dtype": dtype,
    }


def parameter_shapes(c):
    h, d = c["hidden_size"], c["hidden_size"] // c["num_attention_heads"]
    kv = c["num_key_value_heads"] * d
    shapes = {"model.embed_tokens.weight": (c["vocab_size"], h)}
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        shapes[p + "self_attn.q_proj.weight"] = (h, h)
        shapes[p + "self_attn.k_proj.weight"] = (kv, h)
        shapes[p + "self_attn.v_proj.weight"] = (kv, h)
        shapes[p + "self_attn.o_proj.weight"] = (h, h)
        shapes[p + "mlp.gate_proj.weight"] = (c["intermediate_size"], h)
        shapes[p + "mlp.up_proj.weight"] = (c["intermediate_size"], h)
        shapes[p + "mlp.down_proj.weight"] = (h, c["intermediate_size"])
        shapes[p + "input_layernorm.weight"] = (h,)
        shapes[p + "post_attention_layernorm.weight"] = (h,)
    shapes["model.norm.weight"] = (h,)
    if not c["tie_word_embeddings"]:
        shapes["lm_head.weight"] = (c["vocab_size"], h)
    return shapes


def random_weights(c, seed):
    """Stored weights in the checkpoint dtype. Norm weights are random around 1 so that they are actually tested."""
    g = torch.Generator().manual_seed(seed)
    weights = {}
    for name, shape in parameter_shapes(c).items():
        if name.endswith("norm.weight"):
            w = 1.0 + 0.1 * torch.randn(shape, generator=g)
        else:
            w = 0.2 * torch.randn(shape, generator=g)
        weights[name] = w.to(DTYPE_NAMES[c["torch_dtype"]])
    return weights


def rope_tables(positions, head_dim, theta):
    """cos, sin of shape positions.shape + (head_dim,), float64."""
    i = torch.arange(0, head_dim, 2, dtype=torch.float64)
    inv_freq = 1.0 / (theta ** (i / head_dim))
    angles = positions.to(torch.float64).unsqueeze(-1) * inv_freq
    angles = torch.cat([angles, angles], dim=-1)
    return torch.cos(angles), torch.sin(angles)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def apply_rope(x, cos, sin):
    return x * cos + rotate_half(x) * sin


def rms_norm(x, w, eps):
    return w * (x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def allowed_mask(segment_ids):
    """[B,T,T] bool: token i may attend token j."""
    t = segment_ids.shape[1]
    same = segment_ids.unsqueeze(2) == segment_ids.unsqueeze(1)
    causal = torch.ones(t, t, dtype=torch.bool).tril()
    real = (segment_ids != 0).unsqueeze(2)
    return (same & causal & real) | torch.eye(t, dtype=torch.bool)


def forward(c, p, input_ids, positions, segment_ids):
    """Final hidden states [B,T,H] in float64."""
    b, t = input_ids.shape
    heads, kv_heads = c["num_attention_heads"], c["num_key_value_heads"]
    d = c["hidden_size"] // heads
    eps = c["rms_norm_eps"]
    cos, sin = rope_tables(positions, d, c["rope_theta"])
    cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)  # [B,1,T,d]
    allowed = allowed_mask(segment_ids).unsqueeze(1)  # [B,1,T,T]
    x = p["model.embed_tokens.weight"][input_ids]
    for i in range(c["num_hidden_layers"]):
        pre = f"model.layers.{i}."
        a = rms_norm(x, p[pre + "input_layernorm.weight"], eps)
        q = (a @ p[pre + "self_attn.q_proj.weight"].T).view(b, t, heads, d).transpose(1, 2)
        k = (a @ p[pre + "self_attn.k_proj.weight"].T).view(b, t, kv_heads, d).transpose(1, 2)
        v = (a @ p[pre + "self_attn.v_proj.weight"].T).view(b, t, kv_heads, d).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        group = heads // kv_heads
        k = torch.stack([k[:, h // group] for h in range(heads)], dim=1)
        v = torch.stack([v[:, h // group] for h in range(heads)], dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(d)
        scores = scores.masked_fill(~allowed, float("-inf"))
        attn = torch.softmax(scores, dim=-1) @ v
        x = x + attn.transpose(1, 2).reshape(b, t, heads * d) @ p[pre + "self_attn.o_proj.weight"].T
        m = rms_norm(x, p[pre + "post_attention_layernorm.weight"], eps)
        gate = m @ p[pre + "mlp.gate_proj.weight"].T
        up = m @ p[pre + "mlp.up_proj.weight"].T
        x = x + (gate * torch.sigmoid(gate) * up) @ p[pre + "mlp.down_proj.weight"].T
    return rms_norm(x, p["model.norm.weight"], eps)


def head_of(c, p):
    return p["model.embed_tokens.weight"] if c["tie_word_embeddings"] else p["lm_head.weight"]


def packed_batch(vocab, seed):
    """Row 0 packs two samples (4 + 6 tokens); row 1 holds one of 7 tokens then 3 padding tokens."""
    g = torch.Generator().manual_seed(seed)
    t = 10
    input_ids = torch.randint(3, vocab, (2, t), generator=g)
    input_ids[1, 7:] = 0
    segment_ids = torch.tensor([[1, 1, 1, 1, 2, 2, 2, 2, 2, 2], [1, 1, 1, 1, 1, 1, 1, 0, 0, 0]], dtype=torch.int32)
    positions = torch.tensor([[0, 1, 2, 3, 0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5, 6, 0, 0, 0]])
    targets = torch.zeros_like(input_ids)
    targets[:, :-1] = input_ids[:, 1:]
    # Loss only where the next token is in the same sample, and not everywhere (prompt tokens are masked).
    loss_mask = torch.tensor([[0, 1, 1, 0, 0, 0, 1, 1, 1, 0], [1, 0, 1, 1, 1, 1, 0, 0, 0, 0]], dtype=torch.int32)
    return input_ids, positions, segment_ids, targets, loss_mask


def flat(t):
    return [float(v) for v in t.detach().to(torch.float32).reshape(-1).tolist()]


def make_case(out, name, c, seed, shards):
    weights = random_weights(c, seed)
    model_dir = os.path.join(out, name, "model")
    os.makedirs(model_dir, exist_ok=True)
    with open(os.path.join(model_dir, "config.json"), "w") as f:
        json.dump(c, f, indent=2)
    names = list(weights)
    if shards == 1:
        safetensors_io.save(os.path.join(model_dir, "model.safetensors"), weights)
    else:
        weight_map = {}
        per = math.ceil(len(names) / shards)
        for s in range(shards):
            file = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
            part = {n: weights[n] for n in names[s * per:(s + 1) * per]}
            safetensors_io.save(os.path.join(model_dir, file), part)
            weight_map.update({n: file for n in part})
        total = sum(w.numel() * w.element_size() for w in weights.values())
        with open(os.path.join(model_dir, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)

    params = {n: w.to(torch.float64).requires_grad_(True) for n, w in weights.items()}
    input_ids, positions, segment_ids, targets, loss_mask = packed_batch(c["vocab_size"], seed + 1)
    hidden = forward(c, params, input_ids, positions, segment_ids)
    logits = hidden @ head_of(c, params).T
    nll = -torch.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    loss_sum = (nll * loss_mask).sum()
    loss_sum.backward()

    # Packed rows must equal their samples run alone.
    with torch.no_grad():
        alone_a = forward(c, params, input_ids[:1, :4], positions[:1, :4], torch.ones(1, 4, dtype=torch.int32))
        alone_b = forward(c, params, input_ids[:1, 4:], positions[:1, 4:], torch.ones(1, 6, dtype=torch.int32))
        assert torch.allclose(hidden[0, :4], alone_a[0], atol=1e-12), "packed sample A differs from A alone"
        assert torch.allclose(hidden[0, 4:], alone_b[0], atol=1e-12), "packed sample B differs from B alone"

    golden = {
        "case": name,
        "input_ids": input_ids.tolist(), "positions": positions.tolist(), "segment_ids": segment_ids.tolist(),
        "targets": targets.tolist(), "loss_mask": loss_mask.tolist(),
        "loss_sum": float(loss_sum), "loss_tokens": int(loss_mask.sum()),
        "logits_shape": list(logits.shape), "logits": flat(logits),
        "weights": {n: flat(w) for n, w in weights.items()},
        "grads": {n: flat(p.grad) for n, p in params.items()},
    }
    with open(os.path.join(out, name, "golden.json"), "w") as f:
        json.dump(golden, f, separators=(",", ":"))
    print(f"{name}: loss_sum={float(loss_sum):.6f} over {int(loss_mask.sum())} tokens, {len(weights)} tensors")


def make_rope(out):
    head_dim, theta = 8, 10000.0
    positions = torch.tensor([0, 1, 2, 7, 100, 1000, 4095])
    cos, sin = rope_tables(positions, head_dim, theta)
    x = torch.randn(1, 2, len(positions), head_dim, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    rotated = apply_rope(x, cos, sin)
    golden = {"head_dim": head_dim, "theta": theta, "positions": positions.tolist(),
              "cos": flat(cos), "sin": flat(sin), "x_shape": list(x.shape), "x": flat(x), "rotated": flat(rotated)}
    with open(os.path.join(out, "rope.json"), "w") as f:
        json.dump(golden, f, separators=(",", ":"))


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "trainer/src/test/resources/reference")
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    make_case(out, "gqa_f32", config_dict(48, 32, 48, 2, 4, 2, 1e-5, 10000.0, False, "float32"), 11, 1)
    make_case(out, "tied_sharded_f32", config_dict(48, 32, 48, 2, 4, 4, 1e-6, 500000.0, True, "float32"), 23, 3)
    make_case(out, "gqa_bf16", config_dict(48, 32, 48, 2, 4, 2, 1e-5, 10000.0, False, "bfloat16"), 37, 1)
    make_case(out, "gqa_f16", config_dict(48, 32, 48, 2, 4, 2, 1e-5, 10000.0, False, "float16"), 41, 1)
    make_rope(out)


if __name__ == "__main__":
    main()
