#!/usr/bin/env bash
# Data-parallel benchmark (docs/benchmarks.md, "Data-parallel step"): the share of a 2-rank training step spent in
# collectives, with the 1-rank run of the same global batch (8 rows of 256 tokens) as the baseline. Two ranks on
# 127.0.0.1 with torchrun's variables, Gloo over TCP, the tiny Llama (16.7 MB of fp32 gradients, one 25 MiB bucket).
# Usage: scripts/bench-ddp.sh [steps=30] [threads=1]   (threads per rank)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
steps="${1:-30}"
threads="${2:-1}"
work="$(mktemp -d "${TMPDIR:-/tmp}/agentflan-bench-ddp.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mvn -q -B -o -pl trainer -am test-compile dependency:build-classpath -Dmdep.outputFile="$work/cp.txt" >/dev/null 2>&1
cp="trainer/target/test-classes:trainer/target/classes:configs/target/classes:format/target/classes:$(cat "$work/cp.txt")"
export DJL_CACHE_DIR="${DJL_CACHE_DIR:-$HOME/.cache/agentflan/djl}" OMP_NUM_THREADS="$threads"
bench() {
  java -Xmx2g -Dai.djl.offline=true -DOPT_OUT_TRACKING=true -cp "$cp" org.agentflan.trainer.bench.DataParallelBenchmark \
    "$work" "$steps" "$1" "$threads" 2>/dev/null | grep '^{' || true
}
bench 2 > "$work/one.jsonl"   # 1 rank: micro_batch 4 x grad_accum 2 = 8 rows
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT="$port"
RANK=1 LOCAL_RANK=1 bench 1 > /dev/null &
RANK=0 LOCAL_RANK=0 bench 1 > "$work/two.jsonl"   # 2 ranks: 4 x 1 x 2 = 8 rows
wait
/usr/bin/python3 - "$work/one.jsonl" "$work/two.jsonl" <<'PY'
import json, sys
one, two = (json.loads(open(f).read()) for f in sys.argv[1:3])
print("| run | global batch | median step s | median in collectives s | share of the step | tokens/s |")
print("|---|---|---:|---:|---:|---:|")
for r in (one, two):
    rows = 4 * r["grad_accum"] * r["ranks"]
    print(f"| {r['ranks']} rank{'s' if r['ranks'] > 1 else ''}, {r['threads']} thread{'s' if r['threads'] > 1 else ''} each | {rows} rows = 4 x {r['grad_accum']} x {r['ranks']} | "
          f"{r['median_step_s']:.3f} | {r['median_comm_s']:.3f} | {100 * r['median_comm_share']:.1f} % | {r['median_tokens_per_s']:.0f} |")
PY
