// JNI shim between org.agentflan.trainer.distributed.NcclNative and NCCL, which it loads at run time with dlopen
// (as it loads the CUDA driver, libcuda.so.1), so that building agentflan needs neither CUDA nor NCCL. Thin by
// design: it forwards device pointers (the addresses of DJL's direct buffers over CUDA tensors), counts and types to
// NCCL's in-place collectives on the legacy default stream, which is the stream PyTorch (and so DJL) runs its
// kernels on, so a collective starts after the backward pass's kernels and the optimizer's kernels start after it.
// Every call then waits for a CUDA event recorded behind it, polling NCCL's asynchronous error, and aborts the
// communicator when the timeout passes: that bounds the wait when a peer dies (NCCL itself would spin forever).
// Communicators are non-blocking (NCCL_COMM_BLOCKING=0, NCCL >= 2.14) so that ncclCommInitRank is bounded too.
#include <dlfcn.h>
#include <jni.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

// ---- The parts of nccl.h and cuda.h this shim uses (stable ABI; values from those headers) ----
using ncclResult_t = int;
constexpr ncclResult_t ncclSuccess = 0;
constexpr ncclResult_t ncclInProgress = 7;
using ncclComm_t = struct ncclComm*;
struct ncclUniqueId {
  char internal[128];
};
using ncclDataType_t = int;
constexpr ncclDataType_t ncclFloat16 = 6;
constexpr ncclDataType_t ncclFloat32 = 7;
constexpr ncclDataType_t ncclBfloat16 = 9;
constexpr int ncclSum = 0;
using cudaStream_t = void*;
constexpr cudaStream_t kLegacyDefaultStream = nullptr;

using CUresult = int;
constexpr CUresult CUDA_SUCCESS = 0;
constexpr CUresult CUDA_ERROR_NOT_READY = 600;
using CUdevice = int;
using CUcontext = void*;
using CUevent = void*;
constexpr unsigned CU_EVENT_DISABLE_TIMING = 2;

struct Api {
  ncclResult_t (*getVersion)(int*);
  ncclResult_t (*getUniqueId)(ncclUniqueId*);
  ncclResult_t (*commInitRank)(ncclComm_t*, int, ncclUniqueId, int);
  ncclResult_t (*commGetAsyncError)(ncclComm_t, ncclResult_t*);
  ncclResult_t (*commFinalize)(ncclComm_t);
  ncclResult_t (*commDestroy)(ncclComm_t);
  ncclResult_t (*commAbort)(ncclComm_t);
  const char* (*getErrorString)(ncclResult_t);
  const char* (*getLastError)(ncclComm_t);
  ncclResult_t (*allReduce)(const void*, void*, size_t, ncclDataType_t, int, ncclComm_t, cudaStream_t);
  ncclResult_t (*reduceScatter)(const void*, void*, size_t, ncclDataType_t, int, ncclComm_t, cudaStream_t);
  ncclResult_t (*allGather)(const void*, void*, size_t, ncclDataType_t, ncclComm_t, cudaStream_t);
  ncclResult_t (*broadcast)(const void*, void*, size_t, ncclDataType_t, int, ncclComm_t, cudaStream_t);
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDeviceGet)(CUdevice*, int);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext*, CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuEventCreate)(CUevent*, unsigned);
  CUresult (*cuEventRecord)(CUevent, cudaStream_t);
  CUresult (*cuEventQuery)(CUevent);
  CUresult (*cuEventDestroy)(CUevent);
  CUresult (*cuGetErrorString)(CUresult, const char**);
};
Api api;
bool loaded = false;

struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <typename T>
void bind(void* lib, const char* library, const char* symbol, T& fn) {
  fn = reinterpret_cast<T>(dlsym(lib, symbol));
  if (fn == nullptr) {
    throw Failure(std::string(library) + " has no " + symbol + " (too old?)");
  }
}

struct Comm {
  ncclComm_t comm = nullptr;
  CUcontext context = nullptr;
  CUevent done = nullptr;
  int rank = 0;
  int size = 0;
  bool aborted = false;
};

std::string ncclError(ncclResult_t r, ncclComm_t comm) {
  std::string s = api.getErrorString(r);
  const char* last = comm != nullptr ? api.getLastError(comm) : nullptr;
  if (last != nullptr && *last != '\0') {
    s += " (";
    s += last;
    s += ")";
  }
  return s;
}

void cuda(CUresult r, const char* what) {
  if (r != CUDA_SUCCESS) {
    const char* text = "unknown CUDA error";
    api.cuGetErrorString(r, &text);
    throw Failure(std::string(what) + ": " + text);
  }
}

using Clock = std::chrono::steady_clock;

void abortComm(Comm* c) {
  if (!c->aborted) {
    api.commAbort(c->comm);
    c->aborted = true;
  }
}

// Polls until done() holds, failing (and aborting the communicator) on NCCL's asynchronous error or at the deadline.
template <typename Done>
void pollUntil(Comm* c, const char* op, Clock::time_point deadline, long timeoutMs, Done done) {
  while (!done()) {
    ncclResult_t state = ncclSuccess;
    api.commGetAsyncError(c->comm, &state);
    if (state != ncclSuccess && state != ncclInProgress) {
      std::string e = ncclError(state, c->comm);
      abortComm(c);
      throw Failure(std::string(op) + ": " + e);
    }
    if (Clock::now() > deadline) {
      abortComm(c);
      throw Failure(std::string(op) + " did not complete within " + std::to_string(timeoutMs) + " ms; communicator aborted");
    }
    std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
}

// Waits until the non-blocking communicator has finished its pending call (enqueued, or initialised).
void awaitReady(Comm* c, const char* op, Clock::time_point deadline, long timeoutMs) {
  pollUntil(c, op, deadline, timeoutMs, [c] {
    ncclResult_t state = ncclSuccess;
    api.commGetAsyncError(c->comm, &state);
    return state == ncclSuccess;
  });
}

// Enqueues one collective and waits, bounded by the timeout, until the GPU has run it.
template <typename F>
void collective(Comm* c, const char* op, long timeoutMs, F enqueue) {
  if (c->aborted) {
    throw Failure(std::string(op) + ": the communicator was aborted by an earlier failure");
  }
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeoutMs);
  cuda(api.cuCtxSetCurrent(c->context), "cuCtxSetCurrent");
  ncclResult_t r = enqueue();
  if (r == ncclInProgress) {
    awaitReady(c, op, deadline, timeoutMs);
  } else if (r != ncclSuccess) {
    throw Failure(std::string(op) + ": " + ncclError(r, c->comm));
  }
  cuda(api.cuEventRecord(c->done, kLegacyDefaultStream), "cuEventRecord");
  pollUntil(c, op, deadline, timeoutMs, [c, op] {
    CUresult q = api.cuEventQuery(c->done);
    if (q != CUDA_SUCCESS && q != CUDA_ERROR_NOT_READY) {
      cuda(q, op);
    }
    return q == CUDA_SUCCESS;
  });
}

ncclDataType_t ncclType(jint type) {
  switch (type) {  // ElementType codes (its ordinals)
    case 0: return ncclFloat32;
    case 1: return ncclFloat16;
    case 2: return ncclBfloat16;
    default: throw Failure("element type code " + std::to_string(type) + " is not float32, float16 or bfloat16");
  }
}

size_t elementBytes(jint type) {
  return type == 0 ? 4 : 2;
}

void throwNative(JNIEnv* env, const std::string& message) {
  jclass cls = env->FindClass("org/agentflan/trainer/distributed/NativeCollectiveException");
  if (cls != nullptr) {
    env->ThrowNew(cls, message.c_str());
  }
}

template <typename F>
void guarded(JNIEnv* env, F body) {
  try {
    if (!loaded) {
      throw Failure("NCCL is not loaded (call NcclNative.open first)");
    }
    body();
  } catch (const std::exception& e) {
    throwNative(env, e.what());
  }
}

struct Span {
  char* data;
  size_t bytes;
};

Span span(JNIEnv* env, jobject buffer) {
  return Span{static_cast<char*>(env->GetDirectBufferAddress(buffer)), static_cast<size_t>(env->GetDirectBufferCapacity(buffer))};
}

Comm* comm(jlong handle) {
  return reinterpret_cast<Comm*>(handle);
}

}  // namespace

extern "C" {

// dlopens NCCL and the CUDA driver; returns NCCL's version, e.g. "2.21.5".
JNIEXPORT jstring JNICALL Java_org_agentflan_trainer_distributed_NcclNative_open(JNIEnv* env, jclass, jstring ncclPath) {
  const char* path = env->GetStringUTFChars(ncclPath, nullptr);
  std::string nccl(path);
  env->ReleaseStringUTFChars(ncclPath, path);
  try {
    if (!loaded) {
      // Must precede NCCL's first read of its environment: makes every communicator non-blocking (bounded init).
      setenv("NCCL_COMM_BLOCKING", "0", 1);
      void* lib = dlopen(nccl.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (lib == nullptr) {
        throw Failure(std::string("cannot load NCCL: ") + dlerror());
      }
      const char* n = nccl.c_str();
      bind(lib, n, "ncclGetVersion", api.getVersion);
      bind(lib, n, "ncclGetUniqueId", api.getUniqueId);
      bind(lib, n, "ncclCommInitRank", api.commInitRank);
      bind(lib, n, "ncclCommGetAsyncError", api.commGetAsyncError);
      bind(lib, n, "ncclCommFinalize", api.commFinalize);
      bind(lib, n, "ncclCommDestroy", api.commDestroy);
      bind(lib, n, "ncclCommAbort", api.commAbort);
      bind(lib, n, "ncclGetErrorString", api.getErrorString);
      bind(lib, n, "ncclGetLastError", api.getLastError);
      bind(lib, n, "ncclAllReduce", api.allReduce);
      bind(lib, n, "ncclReduceScatter", api.reduceScatter);
      bind(lib, n, "ncclAllGather", api.allGather);
      bind(lib, n, "ncclBroadcast", api.broadcast);
      void* driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
      if (driver == nullptr) {
        throw Failure(std::string("cannot load the CUDA driver (NCCL needs an NVIDIA GPU and its driver): ") + dlerror());
      }
      const char* d = "libcuda.so.1";
      bind(driver, d, "cuInit", api.cuInit);
      bind(driver, d, "cuDeviceGet", api.cuDeviceGet);
      bind(driver, d, "cuDevicePrimaryCtxRetain", api.cuDevicePrimaryCtxRetain);
      bind(driver, d, "cuCtxSetCurrent", api.cuCtxSetCurrent);
      bind(driver, d, "cuEventCreate", api.cuEventCreate);
      bind(driver, d, "cuEventRecord", api.cuEventRecord);
      bind(driver, d, "cuEventQuery", api.cuEventQuery);
      bind(driver, d, "cuEventDestroy_v2", api.cuEventDestroy);
      bind(driver, d, "cuGetErrorString", api.cuGetErrorString);
      loaded = true;
    }
    int version = 0;
    api.getVersion(&version);
    std::string v = std::to_string(version / 10000) + "." + std::to_string(version / 100 % 100) + "." + std::to_string(version % 100);
    return env->NewStringUTF(v.c_str());
  } catch (const std::exception& e) {
    throwNative(env, e.what());
    return nullptr;
  }
}

JNIEXPORT jbyteArray JNICALL Java_org_agentflan_trainer_distributed_NcclNative_uniqueId(JNIEnv* env, jclass) {
  jbyteArray out = nullptr;
  guarded(env, [&] {
    ncclUniqueId id;
    ncclResult_t r = api.getUniqueId(&id);
    if (r != ncclSuccess) {
      throw Failure(std::string("ncclGetUniqueId: ") + ncclError(r, nullptr));
    }
    out = env->NewByteArray(sizeof(id.internal));
    env->SetByteArrayRegion(out, 0, sizeof(id.internal), reinterpret_cast<const jbyte*>(id.internal));
  });
  return out;
}

JNIEXPORT jlong JNICALL Java_org_agentflan_trainer_distributed_NcclNative_connect(
    JNIEnv* env, jclass, jbyteArray jid, jint rank, jint size, jint device, jlong timeoutMs) {
  jlong handle = 0;
  guarded(env, [&] {
    ncclUniqueId id;
    env->GetByteArrayRegion(jid, 0, sizeof(id.internal), reinterpret_cast<jbyte*>(id.internal));
    auto* c = new Comm();
    c->rank = rank;
    c->size = size;
    try {
      cuda(api.cuInit(0), "cuInit");
      CUdevice dev;
      cuda(api.cuDeviceGet(&dev, device), ("cuDeviceGet(" + std::to_string(device) + ")").c_str());
      cuda(api.cuDevicePrimaryCtxRetain(&c->context, dev), "cuDevicePrimaryCtxRetain");
      cuda(api.cuCtxSetCurrent(c->context), "cuCtxSetCurrent");
      cuda(api.cuEventCreate(&c->done, CU_EVENT_DISABLE_TIMING), "cuEventCreate");
      const auto deadline = Clock::now() + std::chrono::milliseconds(timeoutMs);
      ncclResult_t r = api.commInitRank(&c->comm, size, id, rank);
      if (r == ncclInProgress) {
        awaitReady(c, "ncclCommInitRank (waiting for every rank to join)", deadline, timeoutMs);
      } else if (r != ncclSuccess) {
        throw Failure(std::string("ncclCommInitRank: ") + ncclError(r, c->comm));
      }
    } catch (...) {
      if (c->done != nullptr) {
        api.cuEventDestroy(c->done);
      }
      delete c;
      throw;
    }
    handle = reinterpret_cast<jlong>(c);
  });
  return handle;
}

JNIEXPORT void JNICALL Java_org_agentflan_trainer_distributed_NcclNative_allReduce(
    JNIEnv* env, jclass, jlong handle, jobject buffer, jint type, jlong timeoutMs) {
  guarded(env, [&] {
    Comm* c = comm(handle);
    Span s = span(env, buffer);
    ncclDataType_t t = ncclType(type);
    collective(c, "ncclAllReduce", timeoutMs, [&] {
      return api.allReduce(s.data, s.data, s.bytes / elementBytes(type), t, ncclSum, c->comm, kLegacyDefaultStream);
    });
  });
}

// In place: rank r's summed slice lands at slice r (recvbuff = sendbuff + r * slice).
JNIEXPORT void JNICALL Java_org_agentflan_trainer_distributed_NcclNative_reduceScatter(
    JNIEnv* env, jclass, jlong handle, jobject buffer, jint type, jlong timeoutMs) {
  guarded(env, [&] {
    Comm* c = comm(handle);
    Span s = span(env, buffer);
    ncclDataType_t t = ncclType(type);
    const size_t sliceBytes = s.bytes / c->size;
    collective(c, "ncclReduceScatter", timeoutMs, [&] {
      return api.reduceScatter(s.data, s.data + c->rank * sliceBytes, sliceBytes / elementBytes(type), t, ncclSum, c->comm,
                               kLegacyDefaultStream);
    });
  });
}

// In place: rank r contributes slice r (sendbuff = recvbuff + r * slice).
JNIEXPORT void JNICALL Java_org_agentflan_trainer_distributed_NcclNative_allGather(
    JNIEnv* env, jclass, jlong handle, jobject buffer, jint type, jlong timeoutMs) {
  guarded(env, [&] {
    Comm* c = comm(handle);
    Span s = span(env, buffer);
    ncclDataType_t t = ncclType(type);
    const size_t sliceBytes = s.bytes / c->size;
    collective(c, "ncclAllGather", timeoutMs, [&] {
      return api.allGather(s.data + c->rank * sliceBytes, s.data, sliceBytes / elementBytes(type), t, c->comm, kLegacyDefaultStream);
    });
  });
}

JNIEXPORT void JNICALL Java_org_agentflan_trainer_distributed_NcclNative_broadcast(
    JNIEnv* env, jclass, jlong handle, jobject buffer, jint type, jint root, jlong timeoutMs) {
  guarded(env, [&] {
    Comm* c = comm(handle);
    Span s = span(env, buffer);
    ncclDataType_t t = ncclType(type);
    collective(c, "ncclBroadcast", timeoutMs, [&] {
      return api.broadcast(s.data, s.data, s.bytes / elementBytes(type), t, root, c->comm, kLegacyDefaultStream);
    });
  });
}

// Finalizes and destroys the communicator (or only destroys one an error aborted).
JNIEXPORT void JNICALL Java_org_agentflan_trainer_distributed_NcclNative_close(JNIEnv* env, jclass, jlong handle, jlong timeoutMs) {
  guarded(env, [&] {
    Comm* c = comm(handle);
    try {
      if (!c->aborted) {
        cuda(api.cuCtxSetCurrent(c->context), "cuCtxSetCurrent");
        ncclResult_t r = api.commFinalize(c->comm);
        if (r == ncclInProgress) {
          awaitReady(c, "ncclCommFinalize", Clock::now() + std::chrono::milliseconds(timeoutMs), timeoutMs);
        }
        if (!c->aborted) {
          api.commDestroy(c->comm);
        }
      }
    } catch (...) {
      api.cuEventDestroy(c->done);
      delete c;
      throw;
    }
    api.cuEventDestroy(c->done);
    delete c;
  });
}

}  // extern "C"
