#!/usr/bin/python3
"""PyTorch-eager side of scripts/bench-memory.sh: one configuration of llama_torch.py's model (recompute and blocked
attention as agentflan's memory.recompute and memory.attention_block, through torch.utils.checkpoint), timed, with the
peak memory of its steps measured as org.agentflan.trainer.PeakMemoryProbe measures the Java side: the peak resident
set (VmHWM) after the steps minus the resident set just before the model is made, the peak reset there through
/proc/self/clear_refs. Run it with MALLOC_MMAP_THRESHOLD_=65536 (see PeakMemoryProbe).
Usage: memory_step.py key=value ... (llama_torch.DEFAULTS' keys). Prints one JSON line."""
import json
import sys

import torch

import llama_torch


def status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    raise SystemExit(f"{field} missing from /proc/self/status")


def main():
    opt = llama_torch.parse(sys.argv[1:])
    torch.set_num_threads(opt["threads"])
    (torch.randn(64, 64) @ torch.randn(64, 64)).softmax(-1).sum().item()  # load the kernels before the baseline
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    baseline = status("VmRSS:")
    times, loss = llama_torch.run(opt)
    peak = status("VmHWM:")
    print(json.dumps({"impl": "pytorch", "median_step_ms": round(times[len(times) // 2], 1),
                      "min_step_ms": round(times[0], 1), "measured_bytes": peak - baseline, "loss": round(loss, 4),
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
