#!/usr/bin/python3
"""The PyTorch-eager twin of agentflan's Llama for the benchmarks: RMSNorm, rotate-half RoPE, causal attention from a
segment mask, SwiGLU, untied head, fp32, forward + backward of a mean cross-entropy. torch 1.13 has no fused attention
(scaled_dot_product_attention came in 2.0), so both sides run matmul-softmax-matmul.

Memory options, as agentflan's memory.recompute and memory.attention_block:
- recompute: each decoder layer runs under torch.utils.checkpoint (only its input is kept; the backward runs it again).
- block: attention in blocks of query rows, each block under torch.utils.checkpoint, so that only one block's
  [B, heads, block, T] scores exist at a time in the forward and the backward pass.

Used by model_step.py (the model-step benchmark) and memory_step.py (recompute and blocked attention)."""
import math
import time

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

DEFAULTS = dict(hidden=512, layers=8, heads=8, intermediate=1376, vocab=1024, seq=512, batch=4, warmup=2, steps=5,
                threads=2, recompute=0, block=0)


def parse(argv, defaults=DEFAULTS):
    opt = dict(defaults)
    for arg in argv:
        key, value = arg.split("=", 1)
        if key not in opt:
            raise SystemExit(f"unknown argument {arg!r}; known: {', '.join(opt)}")
        opt[key] = int(value)
    return opt


def run(opt):
    """Times opt['warmup'] + opt['steps'] training steps; returns the sorted step times (ms) and the last loss."""
    torch.set_num_threads(opt["threads"])
    torch.manual_seed(0)
    h, n_layers, heads, inter, vocab = opt["hidden"], opt["layers"], opt["heads"], opt["intermediate"], opt["vocab"]
    b, t = opt["batch"], opt["seq"]
    d = h // heads
    block = opt["block"] if 0 < opt["block"] < t else 0

    def normal(*shape):
        return (torch.randn(*shape) * 0.02).requires_grad_(True)

    params = {"embed": normal(vocab, h), "norm": torch.ones(h, requires_grad=True), "head": normal(vocab, h)}
    layers = []
    for _ in range(n_layers):
        layers.append({"q": normal(h, h), "k": normal(h, h), "v": normal(h, h), "o": normal(h, h),
                       "gate": normal(inter, h), "up": normal(inter, h), "down": normal(h, inter),
                       "n1": torch.ones(h, requires_grad=True), "n2": torch.ones(h, requires_grad=True)})
    all_params = list(params.values()) + [p for layer in layers for p in layer.values()]

    inv_freq = 1.0 / (10000.0 ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
    angles = torch.arange(t, dtype=torch.float64)[:, None] * inv_freq
    angles = torch.cat([angles, angles], dim=-1)
    cos_table, sin_table = angles.cos().float(), angles.sin().float()

    def rms(x, w):
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5))

    def rotate(x):
        return torch.cat([-x[..., d // 2:], x[..., :d // 2]], dim=-1)

    def mask_rows(segments, start, end):
        rows = torch.arange(start, end)[:, None]
        cols = torch.arange(end)[None, :]
        same = segments[:, start:end, None] == segments[:, None, :end]
        allowed = same & (cols <= rows)
        return torch.zeros(b, 1, end - start, end).masked_fill(~allowed.unsqueeze(1), float("-inf"))

    def core(q, k, v, mask):
        return torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + mask, dim=-1) @ v

    def attention(q, k, v, segments, mask):
        if not block:
            return core(q, k, v, mask)
        outs = []
        for start in range(0, t, block):
            end = min(t, start + block)
            outs.append(checkpoint(core, q[:, :, start:end], k[:, :, :end], v[:, :, :end],
                                   mask_rows(segments, start, end)))
        return torch.cat(outs, dim=2)

    def layer(x, cos, sin, segments, mask, p):
        a = rms(x, p["n1"])
        q = F.linear(a, p["q"]).view(b, t, heads, d).transpose(1, 2)
        k = F.linear(a, p["k"]).view(b, t, heads, d).transpose(1, 2)
        v = F.linear(a, p["v"]).view(b, t, heads, d).transpose(1, 2)
        q, k = q * cos + rotate(q) * sin, k * cos + rotate(k) * sin
        x = x + F.linear(attention(q, k, v, segments, mask).transpose(1, 2).reshape(b, t, h), p["o"])
        m = rms(x, p["n2"])
        return x + F.linear(F.silu(F.linear(m, p["gate"])) * F.linear(m, p["up"]), p["down"])

    def step(ids, positions, segments, targets):
        cos, sin = cos_table[positions].unsqueeze(1), sin_table[positions].unsqueeze(1)
        mask = None if block else mask_rows(segments, 0, t)
        x = F.embedding(ids, params["embed"])
        for p in layers:
            if opt["recompute"]:
                x = checkpoint(layer, x, cos, sin, segments, mask, p)
            else:
                x = layer(x, cos, sin, segments, mask, p)
        logits = F.linear(rms(x, params["norm"]), params["head"])
        loss = F.cross_entropy(logits.view(-1, vocab), targets.view(-1))
        loss.backward()
        for p in all_params:
            p.grad = None
        return float(loss)

    times = []
    loss = 0.0
    for i in range(opt["warmup"] + opt["steps"]):
        start = time.perf_counter()
        ids = torch.randint(0, vocab, (b, t))
        targets = torch.randint(0, vocab, (b, t))
        positions = torch.arange(t).repeat(b, 1)
        segments = torch.ones(b, t, dtype=torch.int32)
        loss = step(ids, positions, segments, targets)
        if i >= opt["warmup"]:
            times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return times, loss
