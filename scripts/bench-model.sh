#!/usr/bin/env bash
# Model step benchmark: forward + backward of a small Llama (hidden 512, 8 layers, seq 512, batch 4, vocab 1024, fp32)
# in DJL (libtorch 2.7.1 through JNI) and in PyTorch eager (/usr/bin/python3, Debian torch 1.13 + OpenBLAS), both on
# the same number of threads, run back to back in one invocation. Prints ms/step, the ratio and peak RSS of each.
# Without torch for /usr/bin/python3 it says so and prints the DJL row alone.
# Usage: scripts/bench-model.sh [key=value ...]   (e.g. steps=10 threads=2; keys as in ModelStepBenchmark)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
threads=2
args=()
for a in "$@"; do
  case "$a" in threads=*) threads="${a#threads=}" ;; *) args+=("$a") ;; esac
done
work="$(mktemp -d "${TMPDIR:-/tmp}/agentflan-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# The benchmark is a test-scope class (trainer/src/test/java), so build test classes and the test classpath.
mvn -q -B -pl trainer -am test-compile dependency:build-classpath -Dmdep.outputFile="$work/cp.txt" >&2
classpath="trainer/target/test-classes:trainer/target/classes:configs/target/classes:format/target/classes:$(cat "$work/cp.txt")"
export OMP_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads"
export DJL_CACHE_DIR="${DJL_CACHE_DIR:-$HOME/.cache/agentflan/djl}"
echo "threads=$threads ${args[*]:-}" >&2
py='null'
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  py=$(/usr/bin/python3 scripts/bench/model_step.py "threads=$threads" "${args[@]}")
else
  echo "bench-model: /usr/bin/python3 has no torch (Debian: apt-get install python3-torch), so the PyTorch eager" \
    "reference is skipped and only the DJL side runs" >&2
fi
djl=$(java -Xmx8g -Dai.djl.offline=true -DOPT_OUT_TRACKING=true \
  -Dai.djl.pytorch.num_threads="$threads" -Dai.djl.pytorch.num_interop_threads=1 \
  -cp "$classpath" org.agentflan.trainer.bench.ModelStepBenchmark "${args[@]}" | tail -1)
/usr/bin/python3 - "$py" "$djl" <<'PY'
import json, sys
py, djl = json.loads(sys.argv[1]), json.loads(sys.argv[2])
rows = ([(f"PyTorch eager {py['torch']}", py)] if py else []) + [("DJL 0.36 / libtorch 2.7.1", djl)]
print(f"{'impl':<30}{'median ms':>11}{'min ms':>9}{'peak RSS MB':>13}{'loss':>9}")
for name, r in rows:
    print(f"{name:<30}{r['median_ms']:>11.1f}{r['min_ms']:>9.1f}{r['peak_rss_mb']:>13.0f}{r['loss']:>9.4f}")
if py:
    print(f"DJL / PyTorch step time: median {djl['median_ms'] / py['median_ms']:.2f}x, min {djl['min_ms'] / py['min_ms']:.2f}x")
else:
    print("DJL / PyTorch step time: not measured (no torch for /usr/bin/python3)")
PY
