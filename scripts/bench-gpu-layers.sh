#!/usr/bin/env bash
# GPU benchmark: forward + backward of Llama-2-7B-shaped decoder layers (hidden 4096, intermediate 11008, 32 heads,
# vocabulary 32000 head) on one CUDA GPU at 1 x 4096 tokens, bf16, with the 7B recipe's recompute and 512-row attention
# blocks (org.agentflan.trainer.bench.GpuLayerBenchmark). Prints tokens/s per GPU and model FLOPs utilisation (MFU).
# The CPU natives are left off the class path, so DJL loads a CUDA libtorch 2.7.1: PYTORCH_LIBRARY_PATH's if set, else
# its download on first use (network needed once). See README, "Running on GPU nodes".
# Usage: scripts/bench-gpu-layers.sh [layers=4] [recompute=1] [block=512] [steps=10] [peak_tflops=989]
#   peak_tflops: the GPU's dense bf16 peak (989 H100 SXM, 756 H100 PCIe, 312 A100).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
work="$(mktemp -d "${TMPDIR:-/tmp}/agentflan-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mvn -q -B -pl trainer -am test-compile dependency:build-classpath -Dmdep.outputFile="$work/cp.txt" >&2
deps="$(tr ':' '\n' < "$work/cp.txt" | grep -v pytorch-native-cpu | paste -sd:)"
classpath="trainer/target/test-classes:trainer/target/classes:configs/target/classes:format/target/classes:$deps"
export PYTORCH_VERSION="${PYTORCH_VERSION:-2.7.1}" PYTORCH_FLAVOR="${PYTORCH_FLAVOR:-cu128}" DJL_CACHE_DIR="${DJL_CACHE_DIR:-$HOME/.cache/agentflan/djl}"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader >&2 || { echo "bench-gpu-layers: no CUDA GPU (nvidia-smi failed)" >&2; exit 2; }
java -Xmx8g -Dai.djl.default_engine=PyTorch -DOPT_OUT_TRACKING=true -cp "$classpath" \
  org.agentflan.trainer.bench.GpuLayerBenchmark "$@"
