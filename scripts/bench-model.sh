#!/usr/bin/env bash
# Model step benchmark: forward + backward of a small Llama (hidden 512, 8 layers, seq 512, batch 4, vocab 1024, fp32)
# in DJL (libtorch 2.7.1 through JNI) and in PyTorch eager (/usr/bin/python3, Debian torch 1.13 + OpenBLAS), both on
# the same number of threads, run back to back in one invocation. Prints ms/step, the ratio and peak RSS of each.
# Usage: scripts/bench-model.sh [key=value ...]   (e.g. steps=10 threads=2; keys as in ModelStepBenchmark)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
threads=2
args=()
for a in "$@"; do
  case "$a" in threads=*) threads="${a#threads=}" ;; *) args+=("$a") ;; esac
done
cp_file="$root/trainer/target/bench-classpath.txt"
(cd "$root" && mvn -q -B -pl trainer -am compile dependency:build-classpath \
  -Dmdep.outputFile="$cp_file" -Dmdep.includeScope=runtime) >&2
classpath="$root/trainer/target/classes:$root/configs/target/classes:$(cat "$cp_file")"
export OMP_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads"
export DJL_CACHE_DIR="${DJL_CACHE_DIR:-$HOME/.cache/agentflan/djl}"
echo "threads=$threads ${args[*]:-}" >&2
py=$(/usr/bin/python3 "$root/scripts/bench/model_step.py" "threads=$threads" "${args[@]}")
djl=$(java -Xmx8g -Dai.djl.offline=true -DOPT_OUT_TRACKING=true \
  -Dai.djl.pytorch.num_threads="$threads" -Dai.djl.pytorch.num_interop_threads=1 \
  -cp "$classpath" org.agentflan.trainer.bench.ModelStepBenchmark "${args[@]}" | tail -1)
/usr/bin/python3 - "$py" "$djl" <<'PY'
import json, sys
py, djl = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"{'impl':<30}{'median ms':>11}{'min ms':>9}{'peak RSS MB':>13}{'loss':>9}")
for name, r in ((f"PyTorch eager {py['torch']}", py), ("DJL 0.36 / libtorch 2.7.1", djl)):
    print(f"{name:<30}{r['median_ms']:>11.1f}{r['min_ms']:>9.1f}{r['peak_rss_mb']:>13.0f}{r['loss']:>9.4f}")
print(f"DJL / PyTorch step time: median {djl['median_ms'] / py['median_ms']:.2f}x, min {djl['min_ms'] / py['min_ms']:.2f}x")
PY
