#!/usr/bin/env bash
# Memory benchmark: step time and peak memory of a medium Llama on CPU (hidden 512, 4 layers, 8 heads, intermediate 1376,
# vocabulary 1024, 2 rows of 512 tokens, fp32) with activation recompute off/on and attention in 128-row blocks off/on,
# in agentflan (DJL: org.agentflan.trainer.PeakMemoryProbe, the production OptimizerStep incl. AdamW) and in PyTorch eager
# doing the same (scripts/bench/memory_step.py: torch.utils.checkpoint per layer and per attention block), one process
# per side and configuration. Peak memory on both sides: peak RSS (VmHWM) minus the RSS just before the model is made,
# with MALLOC_MMAP_THRESHOLD_=65536 so that RSS follows the live tensors. Prints a table with the ratios.
# Usage: scripts/bench-memory.sh [threads=2] [key=value ...]   (keys: hidden layers heads intermediate vocab seq batch block)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
declare -A opt=([threads]=2 [hidden]=512 [layers]=4 [heads]=8 [intermediate]=1376 [vocab]=1024 [seq]=512 [batch]=2 [block]=128)
for a in "$@"; do opt["${a%%=*}"]="${a#*=}"; done
work="$(mktemp -d "${TMPDIR:-/tmp}/agentflan-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mvn -q -B -pl trainer -am test-compile dependency:build-classpath -Dmdep.outputFile="$work/cp.txt" >&2
classpath="trainer/target/test-classes:trainer/target/classes:configs/target/classes:format/target/classes:$(cat "$work/cp.txt")"
export OMP_NUM_THREADS="${opt[threads]}" MKL_NUM_THREADS="${opt[threads]}" OPENBLAS_NUM_THREADS="${opt[threads]}"
export MALLOC_MMAP_THRESHOLD_=65536 DJL_CACHE_DIR="${DJL_CACHE_DIR:-$HOME/.cache/agentflan/djl}"
model="hidden=${opt[hidden]},layers=${opt[layers]},heads=${opt[heads]},kv_heads=${opt[heads]},intermediate=${opt[intermediate]},vocab=${opt[vocab]},seq=${opt[seq]},batch=${opt[batch]}"
pymodel="${model//,/ }"; pymodel="${pymodel/kv_heads=${opt[heads]} /}"
echo "threads=${opt[threads]} $model block=${opt[block]}; $(uptime)" >&2
for variant in "0 0" "1 0" "0 ${opt[block]}" "1 ${opt[block]}"; do
  set -- $variant
  djl=$(java -Xms256m -Xmx256m -XX:+AlwaysPreTouch -Dai.djl.offline=true -Dai.djl.default_engine=PyTorch \
    -Dai.djl.pytorch.num_threads="${opt[threads]}" -Dai.djl.pytorch.num_interop_threads=1 -cp "$classpath" \
    org.agentflan.trainer.PeakMemoryProbe "$model,steps=3,recompute=$1,block=$2" 2>/dev/null | tail -1)
  py=null
  if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    py=$(cd scripts/bench && /usr/bin/python3 memory_step.py $pymodel threads="${opt[threads]}" warmup=1 steps=2 \
      recompute="$1" block="$2" 2>/dev/null | tail -1)
  fi
  echo "{\"recompute\": $1, \"block\": $2, \"djl\": $djl, \"py\": $py}" >> "$work/rows"
done
/usr/bin/python3 - "$work/rows" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
mb = lambda b: b / 2**20
print(f"{'recompute':<10}{'block':>6}{'DJL ms':>9}{'torch ms':>10}{'time':>8}{'DJL MB':>8}{'plan MB':>9}{'torch MB':>10}{'memory':>8}")
for r in rows:
    djl, py = r["djl"], r["py"]
    line = f"{r['recompute']:<10}{r['block']:>6}{djl['median_step_ms']:>9.0f}"
    line += f"{py['median_step_ms']:>10.0f}{djl['median_step_ms'] / py['median_step_ms']:>7.2f}x" if py else f"{'-':>10}{'-':>8}"
    line += f"{mb(djl['measured_bytes']):>8.0f}{mb(djl['plan_bytes']):>9.0f}"
    line += f"{mb(py['measured_bytes']):>10.0f}{djl['measured_bytes'] / py['measured_bytes']:>7.2f}x" if py else f"{'-':>10}{'-':>8}"
    print(line)
plain, recompute = rows[0], rows[1]
over = recompute["djl"]["median_step_ms"] / plain["djl"]["median_step_ms"]
text = f"recompute's step-time overhead: DJL {over:.2f}x"
if plain["py"]:
    text += f", PyTorch (torch.utils.checkpoint) {recompute['py']['median_step_ms'] / plain['py']['median_step_ms']:.2f}x"
print(text)
PY
