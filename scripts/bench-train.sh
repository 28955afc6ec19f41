#!/usr/bin/env bash
# Training-loop benchmark (docs/benchmarks.md, "Training loop"): tokens/s of the whole loop in agentflan (DJL) vs the
# same loop in PyTorch eager, for the tiny recipe and for the 25M model of the model step benchmark, and checkpoint
# save/load throughput vs a plain write/read of the same bytes. The two sides alternate, `rounds` times, each run in a
# fresh process, so that both see the same machine load.
# Usage: scripts/bench-train.sh [steps=30] [threads=2] [rounds=1] [models="tiny 25m"]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
steps="${1:-30}"
threads="${2:-2}"
rounds="${3:-1}"
models="${4:-tiny 25m}"
work="$(mktemp -d "${TMPDIR:-/tmp}/agentflan-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mvn -q -B -o -pl trainer -am test-compile dependency:build-classpath -Dmdep.outputFile="$work/cp.txt" >/dev/null 2>&1
cp="trainer/target/test-classes:trainer/target/classes:configs/target/classes:format/target/classes:$(cat "$work/cp.txt")"
export DJL_CACHE_DIR="${DJL_CACHE_DIR:-$HOME/.cache/agentflan/djl}"
export OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads"
java_bench() {
  java -Xmx4g -Dai.djl.offline=true -DOPT_OUT_TRACKING=true -cp "$cp" org.agentflan.trainer.bench.TrainLoopBenchmark \
    "$work" "$steps" "$threads" "$1" 2>/dev/null | grep '^{'
}
: > "$work/loops.jsonl"
for round in $(seq 1 "$rounds"); do
  for model in $models; do
    seq_len=256; [ "$model" = 25m ] && seq_len=512
    echo "round $round, $model: agentflan, then PyTorch ($(cut -d' ' -f1-3 /proc/loadavg) load)" >&2
    java_bench "$model" | sed "s/^{/{\"round\": $round, /" >> "$work/loops.jsonl"
    /usr/bin/python3 scripts/bench/train_loop_torch.py --steps "$steps" --seq-len "$seq_len" --micro-batch 4 \
      --threads "$threads" --model "$model" | sed "s/^{/{\"round\": $round, /" >> "$work/loops.jsonl"
  done
done
java_bench checkpoint > "$work/io.jsonl"
/usr/bin/python3 - "$work/loops.jsonl" "$work/io.jsonl" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
io = json.loads(open(sys.argv[2]).read())
print("| measure | round | agentflan (DJL) | baseline | ratio |")
print("|---|---|---|---|---|")
ratios = {}
for j in [r for r in runs if r["impl"] == "agentflan-djl"]:
    t = next(r for r in runs if r["impl"] == "pytorch-eager" and r["round"] == j["round"] and r["model"] == j["model"])
    ratio = j["median_tokens_per_s"] / t["median_tokens_per_s"]
    ratios.setdefault(j["model"], []).append(ratio)
    print(f"| train loop, {j['model']} Llama, tokens/s ({j['threads']} threads; step alone: "
          f"{j['median_step_tokens_per_s']:.0f}) | {j['round']} | {j['median_tokens_per_s']:.0f} | "
          f"{t['median_tokens_per_s']:.0f} (PyTorch {t['torch']} eager) | {ratio:.2f} |")
for model, rs in ratios.items():
    print(f"| train loop, {model} Llama: median ratio over {len(rs)} rounds | | | | **{statistics.median(rs):.2f}** |")
print(f"| checkpoint save, MB/s ({io['checkpoint_mb']:.0f} MB) | | {io['save_mb_s']:.0f} | {io['plain_write_mb_s']:.0f} (plain write + fsync) | {io['save_mb_s'] / io['plain_write_mb_s']:.2f} |")
print(f"| checkpoint load, MB/s ({io['checkpoint_mb']:.0f} MB) | | {io['load_mb_s']:.0f} | {io['plain_read_mb_s']:.0f} (plain read, page-cached file, one reused 8 MB buffer) | {io['load_mb_s'] / io['plain_read_mb_s']:.2f} |")
print(f"| checkpoint load, MB/s ({io['checkpoint_mb']:.0f} MB) | | {io['load_mb_s']:.0f} | {io['plain_read_new_memory_mb_s']:.0f} (plain read into new 64 MiB arrays) | {io['load_mb_s'] / io['plain_read_new_memory_mb_s']:.2f} |")
PY
