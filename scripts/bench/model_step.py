#!/usr/bin/python3
"""PyTorch-eager side of scripts/bench-model.sh: the model of llama_torch.py (agentflan's Llama in torch), fp32,
forward + backward of a mean cross-entropy, timed like org.agentflan.trainer.bench.ModelStepBenchmark.
Usage: model_step.py key=value ... (hidden, layers, heads, intermediate, vocab, seq, batch, warmup, steps, threads).
Prints one JSON line like the Java side."""
import json
import resource
import sys

import torch

import llama_torch


def main():
    opt = llama_torch.parse(sys.argv[1:], {k: v for k, v in llama_torch.DEFAULTS.items() if k not in ("recompute", "block")})
    times, loss = llama_torch.run(dict(opt, recompute=0, block=0))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"impl": "pytorch", "median_ms": round(times[len(times) // 2], 1), "min_ms": round(times[0], 1),
                      "peak_rss_mb": round(peak), "loss": round(loss, 4), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
