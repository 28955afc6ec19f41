#!/usr/bin/python3
"""PyTorch-eager twin of org.agentflan.trainer.bench.ModelStepBenchmark: the same Llama (RMSNorm, rotate-half RoPE,
causal attention from a segment mask, SwiGLU, untied head), fp32, forward + backward of a mean cross-entropy.
torch 1.13 has no fused attention (scaled_dot_product_attention came in 2.0), so both sides run matmul-softmax-matmul.
Usage: model_step.py key=value ... (hidden, layers, heads, intermediate, vocab, seq, batch, warmup, steps, threads).
Prints one JSON line like the Java side."""
import json
import math
import resource
import sys
import time

import torch
import torch.nn.functional as F


def main():
    opt = dict(hidden=512, layers=8, heads=8, intermediate=1376, vocab=1024, seq=512, batch=4, warmup=2, steps=5,
               threads=2)
    for arg in sys.argv[1:]:
        key, value = arg.split("=", 1)
        if key not in opt:
            raise SystemExit(f"unknown argument {arg!r}")
        opt[key] = int(value)
    torch.set_num_threads(opt["threads"])
    torch.manual_seed(0)
    h, n_layers, heads, inter, vocab = opt["hidden"], opt["layers"], opt["heads"], opt["intermediate"], opt["vocab"]
    b, t = opt["batch"], opt["seq"]
    d = h // heads

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

    def step(ids, positions, segments, targets):
        cos, sin = cos_table[positions].unsqueeze(1), sin_table[positions].unsqueeze(1)
        same = segments.unsqueeze(2) == segments.unsqueeze(1)
        allowed = same & torch.ones(t, t, dtype=torch.bool).tril()
        mask = torch.zeros(b, 1, t, t).masked_fill(~allowed.unsqueeze(1), float("-inf"))
        x = F.embedding(ids, params["embed"])
        for p in layers:
            a = rms(x, p["n1"])
            q = F.linear(a, p["q"]).view(b, t, heads, d).transpose(1, 2)
            k = F.linear(a, p["k"]).view(b, t, heads, d).transpose(1, 2)
            v = F.linear(a, p["v"]).view(b, t, heads, d).transpose(1, 2)
            q, k = q * cos + rotate(q) * sin, k * cos + rotate(k) * sin
            probs = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + mask, dim=-1)
            x = x + F.linear((probs @ v).transpose(1, 2).reshape(b, t, h), p["o"])
            m = rms(x, p["n2"])
            x = x + F.linear(F.silu(F.linear(m, p["gate"])) * F.linear(m, p["up"]), p["down"])
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
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    times.sort()
    print(json.dumps({"impl": "pytorch", "median_ms": round(times[len(times) // 2], 1), "min_ms": round(times[0], 1),
                      "peak_rss_mb": round(peak),
                      "loss": round(loss, 4), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
