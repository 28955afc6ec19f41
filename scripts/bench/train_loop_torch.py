#!/usr/bin/python3
"""PyTorch-eager baseline for the trainer benchmark: the same Llama (by default the tiny one, LlamaConfig.tiny():
vocab 32000, hidden 64, intermediate 172, 2 layers, 4 heads, 2 KV heads; --model 25m: the model step benchmark's,
vocab 1024, hidden 512, intermediate 1376, 8 layers, 8 heads), the same packed rows (per-sample causal attention,
positions restarting per sample), masked CE summed and divided by the batch's loss tokens, clip_grad_norm_ 1.0 and
torch.optim.AdamW, fp32 on CPU with a fixed thread count. Each iteration is timed whole, as the Java side's: making
the batch, forward, backward, clipping, the optimizer step and reading the loss and gradient norm for the metrics.
Prints one JSON line with the median tokens/s of iterations 4 and later.

Usage: scripts/bench/train_loop_torch.py --steps 30 --seq-len 256 --micro-batch 4 --threads 2 [--model tiny|25m]
"""
import argparse
import json
import math
import random
import statistics
import time

import torch
import torch.nn.functional as F


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--micro-batch", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model", choices=["tiny", "25m"], default="tiny")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if a.model == "tiny":
        vocab, hidden, inter, layers, heads, kv_heads = 32000, 64, 172, 2, 4, 2
    else:
        vocab, hidden, inter, layers, heads, kv_heads = 1024, 512, 1376, 8, 8, 8
    eps, theta = 1e-5, 10000.0
    d = hidden // heads
    P = {}

    def param(name, *shape, ones=False):
        P[name] = torch.nn.Parameter(torch.ones(shape) if ones else torch.randn(shape) * 0.02)

    param("embed", vocab, hidden)
    for i in range(layers):
        for n, s in [("q", (hidden, hidden)), ("k", (kv_heads * d, hidden)), ("v", (kv_heads * d, hidden)),
                     ("o", (hidden, hidden)), ("gate", (inter, hidden)), ("up", (inter, hidden)), ("down", (hidden, inter))]:
            param(f"{i}.{n}", *s)
        param(f"{i}.n1", hidden, ones=True)
        param(f"{i}.n2", hidden, ones=True)
    param("norm", hidden, ones=True)
    param("head", vocab, hidden)
    decay = [p for n, p in P.items() if p.dim() >= 2]
    no_decay = [p for n, p in P.items() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.0}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=3e-3, betas=(0.9, 0.95), eps=1e-8)

    inv_freq = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.float32) / d))

    def rms(x, w):
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))

    def rot(x):
        h = x.shape[-1] // 2
        return torch.cat([-x[..., h:], x[..., :h]], dim=-1)

    def forward(ids, pos, seg):
        b, t = ids.shape
        ang = pos.float().unsqueeze(-1) * inv_freq
        ang = torch.cat([ang, ang], -1).unsqueeze(1)
        cos, sin = ang.cos(), ang.sin()
        allowed = (seg.unsqueeze(2) == seg.unsqueeze(1)) & torch.ones(t, t, dtype=torch.bool).tril()
        allowed = allowed | torch.eye(t, dtype=torch.bool)
        bias = torch.zeros(b, 1, t, t).masked_fill(~allowed.unsqueeze(1), float("-inf"))
        x = P["embed"][ids]
        for i in range(layers):
            h = rms(x, P[f"{i}.n1"])
            q = (h @ P[f"{i}.q"].T).view(b, t, heads, d).transpose(1, 2)
            k = (h @ P[f"{i}.k"].T).view(b, t, kv_heads, d).transpose(1, 2)
            v = (h @ P[f"{i}.v"].T).view(b, t, kv_heads, d).transpose(1, 2)
            q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
            k = k.repeat_interleave(heads // kv_heads, 1)
            v = v.repeat_interleave(heads // kv_heads, 1)
            att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + bias, -1) @ v
            x = x + att.transpose(1, 2).reshape(b, t, hidden) @ P[f"{i}.o"].T
            m = rms(x, P[f"{i}.n2"])
            x = x + (F.silu(m @ P[f"{i}.gate"].T) * (m @ P[f"{i}.up"].T)) @ P[f"{i}.down"].T
        return rms(x, P["norm"])

    rng = random.Random(1)

    def batch():
        ids = torch.zeros(a.micro_batch, a.seq_len, dtype=torch.long)
        pos = torch.zeros_like(ids)
        seg = torch.zeros_like(ids)
        mask = torch.zeros(a.micro_batch, a.seq_len)
        tokens = 0
        for r in range(a.micro_batch):
            used, s = 0, 0
            while True:
                n = rng.randint(32, 300)
                if used + n > a.seq_len:
                    break
                s += 1
                ids[r, used:used + n] = torch.randint(3, vocab, (n,))
                pos[r, used:used + n] = torch.arange(n)
                seg[r, used:used + n] = s
                mask[r, used + n // 3:used + n - 1] = 1.0
                used += n
            tokens += used
        tgt = torch.zeros_like(ids)
        tgt[:, :-1] = ids[:, 1:]
        return ids, pos, seg, tgt, mask, tokens

    rates = []
    for step in range(a.steps):
        t0 = time.perf_counter()
        ids, pos, seg, tgt, mask, tokens = batch()
        hidden_states = forward(ids, pos, seg)
        sel = mask.reshape(-1) != 0
        logits = hidden_states.reshape(-1, hidden)[sel] @ P["head"].T
        loss = F.cross_entropy(logits, tgt.reshape(-1)[sel], reduction="sum") / sel.sum()
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(list(P.values()), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=False)
        float(loss), float(norm)  # a training loop logs both every step
        rates.append(tokens / (time.perf_counter() - t0))
    print(json.dumps({"impl": "pytorch-eager", "torch": torch.__version__, "model": a.model, "threads": a.threads,
                      "median_tokens_per_s": statistics.median(rates[3:])}))


if __name__ == "__main__":
    main()
