#!/usr/bin/python3
"""Golden values for the trainer's AdamW + global grad-norm clipping + LR schedule.

Runs torch.optim.AdamW (two param groups: weight decay on 2-D weights, off for 1-D norms/biases),
torch.nn.utils.clip_grad_norm_ and a LambdaLR whose lambda is the schedule below, on fixed parameters
and fixed per-step gradients (large enough that clipping triggers on some steps), and writes every
step's learning rate, pre-clip gradient norm and resulting parameters.

Regenerate: /usr/bin/python3 scripts/reference/optim_reference.py \
    > trainer/src/test/resources/org/agentflan/trainer/optim/adamw_golden.json
"""
import json
import math

import torch


def schedule(kind, warmup, total, floor):
    """LR multiplier for optimizer step k (0-based): linear warm-up (k+1)/W, then decay to `floor`."""
    def f(k):
        if k < warmup:
            return (k + 1) / warmup
        if kind == "constant":
            return 1.0
        progress = min(1.0, (k - warmup) / max(1, total - 1 - warmup))
        if kind == "cosine":
            return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))
        if kind == "linear":
            return floor + (1 - floor) * (1 - progress)
        raise ValueError(kind)
    return f


def run(kind):
    torch.manual_seed(1234)
    weight = torch.randn(4, 3, dtype=torch.float32)
    bias = torch.randn(3, dtype=torch.float32)
    init = {"weight": weight.flatten().tolist(), "bias": bias.tolist()}
    weight.requires_grad_(True)
    bias.requires_grad_(True)
    lr, betas, eps, wd, max_norm = 1e-2, (0.9, 0.95), 1e-8, 0.1, 1.0
    steps, warmup = 8, 2
    opt = torch.optim.AdamW([{"params": [weight], "weight_decay": wd},
                             {"params": [bias], "weight_decay": 0.0}], lr=lr, betas=betas, eps=eps)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule(kind, warmup, steps, 0.1))
    out = {"kind": kind, "lr": lr, "beta1": betas[0], "beta2": betas[1], "eps": eps, "weight_decay": wd,
           "max_norm": max_norm, "warmup_steps": warmup, "total_steps": steps, "min_lr_ratio": 0.1,
           "init": init, "steps": []}
    for k in range(steps):
        # Alternate small and large gradients so some steps are clipped and some are not.
        scale = 0.05 if k % 2 == 0 else 3.0
        gw = torch.randn(4, 3) * scale
        gb = torch.randn(3) * scale
        weight.grad = gw.clone()
        bias.grad = gb.clone()
        step_lr = opt.param_groups[0]["lr"]
        norm = torch.nn.utils.clip_grad_norm_([weight, bias], max_norm)
        opt.step()
        sched.step()
        out["steps"].append({"grad_weight": gw.flatten().tolist(), "grad_bias": gb.tolist(), "lr": step_lr,
                             "grad_norm": float(norm), "weight": weight.detach().flatten().tolist(),
                             "bias": bias.detach().tolist()})
    return out


if __name__ == "__main__":
    print(json.dumps({"torch": torch.__version__, "runs": [run("cosine"), run("linear"), run("constant")]}, indent=1))
