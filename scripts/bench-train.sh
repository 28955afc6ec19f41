#!/usr/bin/env bash
# Training-loop benchmark (docs/benchmarks.md, "Training loop"): tokens/s of the tiny recipe's loop in agentflan
# (DJL) vs the same loop in PyTorch eager, and checkpoint save/load throughput vs a plain write/read of the same
# bytes, side by side in one run. Usage: scripts/bench-train.sh [steps=30] [threads=2]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
steps="${1:-30}"
threads="${2:-2}"
work="$(mktemp -d "${TMPDIR:-/tmp}/agentflan-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mvn -q -B -o -pl trainer -am test-compile dependency:build-classpath -Dmdep.outputFile="$work/cp.txt" >/dev/null 2>&1
cp="trainer/target/test-classes:trainer/target/classes:configs/target/classes:format/target/classes:$(cat "$work/cp.txt")"
export DJL_CACHE_DIR="${DJL_CACHE_DIR:-$HOME/.cache/agentflan/djl}"
java -Xmx4g -Dai.djl.offline=true -DOPT_OUT_TRACKING=true -cp "$cp" org.agentflan.trainer.bench.TrainLoopBenchmark \
  "$work" "$steps" "$threads" 2>/dev/null | grep '^{' > "$work/java.jsonl"
/usr/bin/python3 scripts/bench/train_loop_torch.py --steps "$steps" --seq-len 256 --micro-batch 4 --threads "$threads" \
  > "$work/torch.jsonl"
/usr/bin/python3 - "$work/java.jsonl" "$work/torch.jsonl" <<'PY'
import json, sys
java = [json.loads(l) for l in open(sys.argv[1])]
torch = json.loads(open(sys.argv[2]).read())
loop, io = java[0], java[1]
print("| measure | agentflan (DJL) | baseline | ratio |")
print("|---|---|---|---|")
print(f"| train loop, tiny Llama, tokens/s ({loop['threads']} threads) | {loop['median_tokens_per_s']:.0f} | "
      f"{torch['median_tokens_per_s']:.0f} (PyTorch {torch['torch']} eager) | {loop['median_tokens_per_s'] / torch['median_tokens_per_s']:.2f} |")
print(f"| checkpoint save, MB/s ({io['checkpoint_mb']:.0f} MB) | {io['save_mb_s']:.0f} | {io['plain_write_mb_s']:.0f} (plain write + fsync) | {io['save_mb_s'] / io['plain_write_mb_s']:.2f} |")
print(f"| checkpoint load, MB/s ({io['checkpoint_mb']:.0f} MB) | {io['load_mb_s']:.0f} | {io['plain_read_mb_s']:.0f} (plain read) | {io['load_mb_s'] / io['plain_read_mb_s']:.2f} |")
PY
