#!/usr/bin/env bash
# agentflan quickstart: prepares the bundled sample data (real ToolBench answer trees + ShareGPT chats, Agent-FLAN
# template, real Llama-2 tokenizer) with Spark local[*], trains a tiny Llama from scratch on CPU with checkpoints,
# stops half-way, resumes from the checkpoint to the end, and generates a reply from the final checkpoint.
# A few minutes on 2 cores. Usage: scripts/quickstart.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if [[ ! -f launch/target/agentflan.jar || ! -f launch/target/classpath.txt ]]; then
  echo "== building (first run only): mvn -q -B -DskipTests install"
  mvn -q -B -DskipTests install
fi
run=work/runs/tiny
rm -rf "$run"   # a clean demo run; `train` itself resumes from an existing run folder

echo "== 1/4 prepare: sample data -> work/data/sample (Spark local[*])"
scripts/agentflan prepare --config configs/data/sample.yaml

echo "== 2/4 train: tiny Llama, first 20 of 40 steps, then stop (as a pre-empted job would)"
scripts/agentflan train --config configs/train/tiny.yaml --run-dir "$run" --stop-at-step 20

echo "== 3/4 train again: resumes from $run/checkpoints/latest and runs to step 40"
scripts/agentflan train --config configs/train/tiny.yaml --run-dir "$run"

model="$run/checkpoints/$(cat "$run/checkpoints/latest")/model"
echo "== 4/4 generate from $model"
scripts/agentflan generate --model "$model" --tokenizer "$model" \
  --prompt "I need the current weather in Paris. Which tool should I call?" --max-new-tokens 32

cat <<EOT

Done. Look at:
  metrics (one JSON line per step, eval lines too): $run/metrics.jsonl
  loss, lr, grad norm and tokens/s over the steps:   $run/loss.png
  eval loss per capability:                          $run/capability_loss.png
  checkpoints (HF layout model/ + optimizer + state): $run/checkpoints/  (latest: $(cat "$run/checkpoints/latest"))
  resolved config:                                   $run/config.json
EOT
