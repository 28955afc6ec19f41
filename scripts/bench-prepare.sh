#!/usr/bin/env bash
# Data-stage benchmark (not a test): prepare end to end on local[2] against the raw single-thread tokenizer over
# the same rendered text, in one JVM, on a generated corpus (default 50 MB, kept under work/bench/).
# Usage: scripts/bench-prepare.sh [MB] [MASTER]     e.g. scripts/bench-prepare.sh 50 'local[2]'
# BENCH_HEAP sets the JVM heap (default 6g; the baseline keeps every rendered text in memory: 400 MB needs 10g).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# One reactor run: compiles and writes the classpath (the configs module resolves to its target/classes).
mvn -q -B -pl data-prep -am test-compile dependency:build-classpath \
  -Dmdep.outputFile="$root/work/bench/classpath.txt" -Dmdep.includeScope=test
cp="data-prep/target/test-classes:data-prep/target/classes:$(cat work/bench/classpath.txt)"
flags=(-XX:+IgnoreUnrecognizedVMOptions --add-modules=jdk.incubator.vector
  -Djdk.reflect.useDirectMethodHandle=false -Dio.netty.tryReflectionSetAccessible=true --enable-native-access=ALL-UNNAMED
  -Dai.djl.offline=true -DOPT_OUT_TRACKING=true)
for pkg in java.lang java.lang.invoke java.lang.reflect java.io java.net java.nio java.util java.util.concurrent \
           java.util.concurrent.atomic jdk.internal.ref sun.nio.ch sun.nio.cs sun.security.action sun.util.calendar; do
  flags+=("--add-opens=java.base/$pkg=ALL-UNNAMED")
done
export SPARK_LOCAL_IP=127.0.0.1 DJL_CACHE_DIR="${DJL_CACHE_DIR:-$root/work/bench/djl}"
# BENCH_JVM_OPTS: extra JVM flags, e.g. a JFR recording.
/usr/bin/time -v java -Xmx${BENCH_HEAP:-6g} ${BENCH_JVM_OPTS:-} "${flags[@]}" -cp "$cp" org.agentflan.dataprep.bench.PrepareBenchmark "$root" "${1:-50}" "${2:-local[2]}" \
  2> >(grep --line-buffered -E "prepare:|Maximum resident|Elapsed \(wall|Exception|Error" >&2)
