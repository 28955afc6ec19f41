#!/usr/bin/env bash
# Collective benchmark (docs/benchmarks.md, "Collectives"): all-reduce of float32 buffers between 2 ranks on 127.0.0.1
# through agentflan's Java path (DJL tensor -> zero-copy view -> JNI shim -> Gloo) against Gloo's own C++ allreduce
# (scripts/bench/gloo_allreduce.cc, compiled here with g++ against the same libgloo) on the same sizes. The two sides
# run alternately `rounds` times; each size's figure is the best of the rounds' medians (and the fastest single call
# of all rounds). GB/s is the buffer's bytes over the call's time (algorithm bandwidth). Needs g++ and libgloo-dev.
# Usage: scripts/bench-collectives.sh [rounds=3] [sizes="4096 65536 1048576 16777216 67108864"]  (bytes)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
rounds=3
sizes="4096 65536 1048576 16777216 67108864"
for a in "$@"; do
  case "$a" in rounds=*) rounds="${a#rounds=}" ;; sizes=*) sizes="${a#sizes=}" ;; *) echo "unknown argument $a" >&2; exit 2 ;; esac
done
work="$(mktemp -d "${TMPDIR:-/tmp}/agentflan-bench-coll.XXXXXX")"
trap 'rm -rf "$work"' EXIT
g++ -std=c++17 -O2 scripts/bench/gloo_allreduce.cc -o "$work/gloo_allreduce" -lgloo -pthread
mvn -q -B -o -pl trainer -am test-compile dependency:build-classpath -Dmdep.outputFile="$work/cp.txt" >/dev/null 2>&1
cp="trainer/target/test-classes:trainer/target/classes:configs/target/classes:$(cat "$work/cp.txt")"
export DJL_CACHE_DIR="${DJL_CACHE_DIR:-$HOME/.cache/agentflan/djl}" OMP_NUM_THREADS=1
java_rank() {
  java -Xmx2g -Dai.djl.offline=true -DOPT_OUT_TRACKING=true -Dai.djl.pytorch.num_threads=1 -cp "$cp" \
    org.agentflan.trainer.bench.CollectivesBenchmark "$1" 2 "$2" $sizes
}
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
for round in $(seq 1 "$rounds"); do
  mkdir -p "$work/store$round"
  "$work/gloo_allreduce" 1 2 "$work/store$round" $sizes >/dev/null &
  "$work/gloo_allreduce" 0 2 "$work/store$round" $sizes > "$work/cpp$round.jsonl"
  wait
  port=$(free_port)
  java_rank 1 "$port" >/dev/null 2>&1 &
  java_rank 0 "$port" 2>/dev/null | grep '^{' > "$work/java$round.jsonl"
  wait
  echo "round $round of $rounds done" >&2
done
/usr/bin/python3 - "$work" "$rounds" <<'PY'
import json, sys
work, rounds = sys.argv[1], int(sys.argv[2])
def best(kind):
    out = {}
    for r in range(1, rounds + 1):
        for line in open(f"{work}/{kind}{r}.jsonl"):
            row = json.loads(line)
            b = row["bytes"]
            if b not in out or row["median_us"] < out[b]["median_us"]:
                out[b] = row
    return out
cpp, java = best("cpp"), best("java")
def size(b):
    return f"{b >> 20} MiB" if b >= 1 << 20 else f"{b >> 10} KiB"
def best_min(kind, b):
    return min(json.loads(l)["min_us"] for r in range(1, rounds + 1) for l in open(f"{work}/{kind}{r}.jsonl")
               if json.loads(l)["bytes"] == b)
print("| buffer | calls | Gloo C++ median ms | Gloo C++ GB/s | Java path median ms | Java path GB/s | Java / C++ bandwidth (median) | (fastest call) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for b in sorted(cpp):
    c, j = cpp[b], java[b]
    print(f"| {size(b)} | {c['iterations']} | {c['median_us'] / 1e3:.3f} | {b / c['median_us'] / 1e3:.2f} | "
          f"{j['median_us'] / 1e3:.3f} | {b / j['median_us'] / 1e3:.2f} | {c['median_us'] / j['median_us']:.2f}x | "
          f"{best_min('cpp', b) / best_min('java', b):.2f}x |")
PY
