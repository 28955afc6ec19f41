// Reference for scripts/bench-collectives.sh: Gloo's own C++ allreduce (the call agentflan's shim makes), two ranks on
// 127.0.0.1 over Gloo's TCP transport, rendezvous through Gloo's FileStore. For each buffer size (bytes of float32):
// 3 warm-up calls, then `iterations` timed calls one by one; rank 0 prints one JSON line per size.
// Usage: gloo_allreduce <rank> <size> <store-dir> <bytes>...
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include <gloo/allreduce.h>
#include <gloo/barrier.h>
#include <gloo/math.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/file_store.h>
#include <gloo/transport/tcp/device.h>

// The same rule as CollectivesBenchmark.iterations: about 256 MiB moved per size, between 5 and 200 calls.
static int iterations(long bytes) {
  return static_cast<int>(std::max(5L, std::min(200L, (256L << 20) / bytes)));
}

int main(int argc, char** argv) {
  const int rank = std::atoi(argv[1]);
  const int size = std::atoi(argv[2]);
  gloo::rendezvous::FileStore store(argv[3]);
  gloo::transport::tcp::attr attr("127.0.0.1");
  auto device = gloo::transport::tcp::CreateDevice(attr);
  auto context = std::make_shared<gloo::rendezvous::Context>(rank, size);
  context->setTimeout(std::chrono::seconds(60));
  context->connectFullMesh(store, device);
  uint32_t tag = 0;
  for (int a = 4; a < argc; a++) {
    const long bytes = std::atol(argv[a]);
    // Zeros (sums stay finite, no denormals), 64-byte aligned like libtorch's CPU allocator (c10::alloc_cpu).
    const size_t count = bytes / sizeof(float);
    float* data = static_cast<float*>(std::aligned_alloc(64, (count * sizeof(float) + 63) / 64 * 64));
    std::fill(data, data + count, 0.0f);
    std::vector<double> micros;
    const int n = iterations(bytes);
    for (int i = 0; i < 3 + n; i++) {
      gloo::AllreduceOptions opts(context);
      opts.setOutput(data, count);
      void (*fn)(void*, const void*, const void*, size_t) = &gloo::sum<float>;
      opts.setReduceFunction(fn);
      opts.setTag(++tag);
      const auto start = std::chrono::steady_clock::now();
      gloo::allreduce(opts);
      const auto end = std::chrono::steady_clock::now();
      if (i >= 3) {
        micros.push_back(std::chrono::duration<double, std::micro>(end - start).count());
      }
    }
    gloo::BarrierOptions barrier(context);
    barrier.setTag(++tag);
    gloo::barrier(barrier);
    std::free(data);
    std::sort(micros.begin(), micros.end());
    if (rank == 0) {
      std::printf("{\"bytes\": %ld, \"iterations\": %d, \"median_us\": %.1f, \"min_us\": %.1f}\n", bytes, n,
                  micros[micros.size() / 2], micros[0]);
      std::fflush(stdout);
    }
  }
  return 0;
}
