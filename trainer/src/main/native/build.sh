#!/usr/bin/env bash
# Builds agentflan's JNI shims into <out-dir> (run by Maven in process-classes; see trainer/pom.xml):
#   libagentflan_gloo.so  Gloo collectives on CPU memory; needs g++, JNI headers and libgloo-dev
#   libagentflan_nccl.so  NCCL collectives on CUDA memory; needs g++ and JNI headers only (NCCL is dlopen'ed at run time)
# A missing compiler or library skips that shim with a message and the build goes on: single-process training does
# not need them, and a multi-rank run then stops at start saying what to install. A compile error fails the build.
# Usage: build.sh <out-dir> <java.home>
set -euo pipefail
out=$1
java_home=$2
src=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

say() { echo "[agentflan native] $*"; }

jni=""
for dir in "$java_home/include" "$java_home/../include"; do
  if [[ -f $dir/jni.h ]]; then jni=$dir; break; fi
done
if ! command -v g++ >/dev/null; then
  say "g++ not found: skipping the Gloo and NCCL shims (multi-rank training needs them: apt-get install g++ libgloo-dev)"
  exit 0
fi
if [[ -z $jni ]]; then
  say "no jni.h under $java_home: skipping the Gloo and NCCL shims (build with a JDK, not a JRE)"
  exit 0
fi
mkdir -p "$out"
flags=(-std=c++17 -O2 -fPIC -shared -Wall -Wextra -I"$jni" -I"$jni/linux" -Wl,-z,defs)

# Rebuilds only when the source is newer than the library (Maven runs this on every build).
build() {
  local name=$1; shift
  local lib=$out/lib$name.so
  if [[ -f $lib && $lib -nt $src/${name#agentflan_}_shim.cc && $lib -nt $src/build.sh ]]; then
    return
  fi
  say "compiling lib$name.so"
  g++ "${flags[@]}" "$src/${name#agentflan_}_shim.cc" -o "$lib" "$@"
}

build agentflan_nccl -ldl

if echo '#include <gloo/allreduce.h>' | g++ -std=c++17 -x c++ -fsyntax-only - 2>/dev/null \
    && echo 'int main(){}' | g++ -x c++ - -o /dev/null -lgloo 2>/dev/null; then
  build agentflan_gloo -lgloo -ldl
else
  rm -f "$out/libagentflan_gloo.so"
  say "Gloo headers or libgloo not found: skipping the Gloo shim (multi-rank CPU training needs it: apt-get install libgloo-dev)"
fi
