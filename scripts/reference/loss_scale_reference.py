#!/usr/bin/python3
"""Golden values for fp16 dynamic loss scaling: torch.cuda.amp.GradScaler's rule around torch.optim.AdamW.

torch 1.13's GradScaler refuses to run without CUDA, so its logic is written out here from its source
(torch/cuda/amp/grad_scaler.py and the _amp_update_scale_ kernel):
  - the loss, hence every gradient, is multiplied by the scale before backward;
  - unscale_: gradients are multiplied by 1/scale (float32), found_inf = any non-finite value;
  - step: skipped when found_inf, else optimizer.step() on the unscaled (and here clipped) gradients;
  - update: found_inf -> scale *= backoff_factor, growth tracker = 0; else tracker += 1, and when it reaches
    growth_interval, scale *= growth_factor (kept only if finite) and tracker = 0.
The "backward" here is fixed per-step gradients (as optim_reference.py), multiplied by the scale in float32, with an
Inf or a NaN injected on chosen steps, as an overflowing fp16 backward would leave them.

Regenerate: /usr/bin/python3 scripts/reference/loss_scale_reference.py \
    > trainer/src/test/resources/org/agentflan/trainer/optim/loss_scale_golden.json
"""
import json
import math

import torch

INIT_SCALE, GROWTH, BACKOFF, INTERVAL = 2.0 ** 16, 2.0, 0.5, 3
LR, BETAS, EPS, WD, MAX_NORM = 1e-2, (0.9, 0.95), 1e-8, 0.1, 1.0
STEPS = 12
INJECT = {1: math.inf, 2: -math.inf, 7: math.nan}  # step -> value put into one gradient element


def main():
    torch.manual_seed(4321)
    weight = torch.randn(4, 3, dtype=torch.float32)
    bias = torch.randn(3, dtype=torch.float32)
    init = {"weight": weight.flatten().tolist(), "bias": bias.tolist()}
    weight.requires_grad_(True)
    bias.requires_grad_(True)
    opt = torch.optim.AdamW([{"params": [weight], "weight_decay": WD},
                             {"params": [bias], "weight_decay": 0.0}], lr=LR, betas=BETAS, eps=EPS)
    scale = torch.tensor(INIT_SCALE, dtype=torch.float32)
    tracker = 0
    out = {"torch": torch.__version__, "init_scale": INIT_SCALE, "growth_factor": GROWTH, "backoff_factor": BACKOFF,
           "growth_interval": INTERVAL, "lr": LR, "beta1": BETAS[0], "beta2": BETAS[1], "eps": EPS,
           "weight_decay": WD, "max_norm": MAX_NORM, "init": init, "steps": []}
    for k in range(STEPS):
        g_scale = 0.05 if k % 2 == 0 else 3.0
        gw = (torch.randn(4, 3) * g_scale * scale).to(torch.float32)  # what backward of scale * loss leaves
        gb = (torch.randn(3) * g_scale * scale).to(torch.float32)
        if k in INJECT:
            gw[1, 2] = INJECT[k]
        used_scale = float(scale)
        # unscale_
        inv = (1.0 / scale).to(torch.float32)
        weight.grad = gw * inv
        bias.grad = gb * inv
        found_inf = not (torch.isfinite(weight.grad).all() and torch.isfinite(bias.grad).all())
        norm = None
        if not found_inf:
            norm = float(torch.nn.utils.clip_grad_norm_([weight, bias], MAX_NORM))
            opt.step()
        # update
        if found_inf:
            scale = (scale * BACKOFF).to(torch.float32)
            tracker = 0
        else:
            tracker += 1
            if tracker == INTERVAL:
                grown = (scale * GROWTH).to(torch.float32)
                if torch.isfinite(grown):
                    scale = grown
                tracker = 0
        out["steps"].append({"scaled_grad_weight": [v if math.isfinite(v) else str(v) for v in gw.flatten().tolist()],
                             "scaled_grad_bias": gb.tolist(), "scale": used_scale, "skipped": found_inf,
                             "grad_norm": norm, "scale_after": float(scale), "good_steps_after": tracker,
                             "weight": weight.detach().flatten().tolist(), "bias": bias.detach().tolist()})
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
