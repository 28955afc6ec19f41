// JNI shim between org.agentflan.trainer.distributed.GlooNative and Gloo 0.5 (Debian's libgloo-dev).
// Thin by design: it forwards direct buffers, sizes, tags and timeouts to Gloo's own collectives, and
// lets Gloo's rendezvous use agentflan's Java store through StoreBridge. Failures become Java
// NativeCollectiveExceptions carrying Gloo's message; a Java exception raised inside a store
// callback unwinds through Gloo unchanged.
#include <dlfcn.h>
#include <jni.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <gloo/allgather.h>
#include <gloo/allreduce.h>
#include <gloo/barrier.h>
#include <gloo/broadcast.h>
#include <gloo/common/error.h>
#include <gloo/math.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/store.h>
#include <gloo/transport/tcp/device.h>
#include <gloo/types.h>

namespace {

// A Java exception is pending: unwind to the JNI boundary and return, leaving it to the caller.
struct JavaPending {};

void throwNative(JNIEnv* env, const std::string& message) {
  jclass cls = env->FindClass("org/agentflan/trainer/distributed/NativeCollectiveException");
  if (cls != nullptr) {
    env->ThrowNew(cls, message.c_str());
  }
}

void checkJava(JNIEnv* env) {
  if (env->ExceptionCheck()) {
    throw JavaPending();
  }
}

// Gloo's rendezvous store, answered by the Java StoreBridge on the calling thread.
class JavaStore : public gloo::rendezvous::Store {
 public:
  JavaStore(JNIEnv* env, jobject bridge) : env_(env), bridge_(bridge) {
    jclass cls = env->GetObjectClass(bridge);
    set_ = env->GetMethodID(cls, "set", "(Ljava/lang/String;[B)V");
    get_ = env->GetMethodID(cls, "get", "(Ljava/lang/String;)[B");
    await_ = env->GetMethodID(cls, "await", "([Ljava/lang/String;J)V");
    checkJava(env);
  }

  void set(const std::string& key, const std::vector<char>& data) override {
    jstring jkey = env_->NewStringUTF(key.c_str());
    jbyteArray value = env_->NewByteArray(static_cast<jsize>(data.size()));
    checkJava(env_);
    env_->SetByteArrayRegion(value, 0, static_cast<jsize>(data.size()), reinterpret_cast<const jbyte*>(data.data()));
    env_->CallVoidMethod(bridge_, set_, jkey, value);
    env_->DeleteLocalRef(jkey);
    env_->DeleteLocalRef(value);
    checkJava(env_);
  }

  std::vector<char> get(const std::string& key) override {
    jstring jkey = env_->NewStringUTF(key.c_str());
    checkJava(env_);
    auto value = static_cast<jbyteArray>(env_->CallObjectMethod(bridge_, get_, jkey));
    env_->DeleteLocalRef(jkey);
    checkJava(env_);
    std::vector<char> out(env_->GetArrayLength(value));
    env_->GetByteArrayRegion(value, 0, static_cast<jsize>(out.size()), reinterpret_cast<jbyte*>(out.data()));
    env_->DeleteLocalRef(value);
    return out;
  }

  void wait(const std::vector<std::string>& keys) override {
    wait(keys, kDefaultTimeout);
  }

  void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) override {
    jclass stringClass = env_->FindClass("java/lang/String");
    checkJava(env_);
    jobjectArray jkeys = env_->NewObjectArray(static_cast<jsize>(keys.size()), stringClass, nullptr);
    checkJava(env_);
    for (size_t i = 0; i < keys.size(); i++) {
      jstring jkey = env_->NewStringUTF(keys[i].c_str());
      checkJava(env_);
      env_->SetObjectArrayElement(jkeys, static_cast<jsize>(i), jkey);
      env_->DeleteLocalRef(jkey);
    }
    env_->CallVoidMethod(bridge_, await_, jkeys, static_cast<jlong>(timeout.count()));
    env_->DeleteLocalRef(jkeys);
    checkJava(env_);
  }

 private:
  JNIEnv* env_;
  jobject bridge_;
  jmethodID set_;
  jmethodID get_;
  jmethodID await_;
};

using ContextHandle = std::shared_ptr<gloo::Context>;

const std::shared_ptr<gloo::Context>& context(jlong handle) {
  return *reinterpret_cast<ContextHandle*>(handle);
}

// The buffer's whole capacity, as `elements` values of the element type the Java side checked.
struct Span {
  void* data;
  size_t bytes;
};

Span span(JNIEnv* env, jobject buffer) {
  return Span{env->GetDirectBufferAddress(buffer), static_cast<size_t>(env->GetDirectBufferCapacity(buffer))};
}

// ElementType codes (its ordinals); BFLOAT16 (2) is refused on the Java side.
constexpr jint kFloat32 = 0;
constexpr jint kFloat16 = 1;

// Calls f with a value of the C++ type for `type`.
template <typename F>
void byType(jint type, F f) {
  if (type == kFloat32) {
    f(float{});
  } else if (type == kFloat16) {
    f(gloo::float16{});
  } else {
    throw std::invalid_argument("element type code " + std::to_string(type) + " is not float32 or float16");
  }
}

template <typename T>
void allreduce(const ContextHandle& ctx, Span s, jint tag, jlong timeoutMs) {
  gloo::AllreduceOptions opts(ctx);
  opts.setOutput(static_cast<T*>(s.data), s.bytes / sizeof(T));
  void (*fn)(void*, const void*, const void*, size_t) = &gloo::sum<T>;
  opts.setReduceFunction(fn);
  opts.setTag(static_cast<uint32_t>(tag));
  opts.setTimeout(std::chrono::milliseconds(timeoutMs));
  gloo::allreduce(opts);
}

template <typename T>
void allgather(const ContextHandle& ctx, Span s, jint tag, jlong timeoutMs) {
  gloo::AllgatherOptions opts(ctx);
  opts.setOutput(static_cast<T*>(s.data), s.bytes / sizeof(T));  // no input: in place, own slice already there
  opts.setTag(static_cast<uint32_t>(tag));
  opts.setTimeout(std::chrono::milliseconds(timeoutMs));
  gloo::allgather(opts);
}

template <typename T>
void broadcast(const ContextHandle& ctx, Span s, jint root, jint tag, jlong timeoutMs) {
  gloo::BroadcastOptions opts(ctx);
  opts.setOutput(static_cast<T*>(s.data), s.bytes / sizeof(T));
  opts.setRoot(root);
  opts.setTag(static_cast<uint32_t>(tag));
  opts.setTimeout(std::chrono::milliseconds(timeoutMs));
  gloo::broadcast(opts);
}

// Runs `body`, turning C++ exceptions into a Java NativeCollectiveException (unless Java already has one pending).
template <typename F>
void guarded(JNIEnv* env, F body) {
  try {
    body();
  } catch (const JavaPending&) {
    // the Java exception stays pending and is thrown on return
  } catch (const gloo::IoException& e) {
    throwNative(env, std::string("I/O error: ") + e.what());
  } catch (const gloo::Exception& e) {
    throwNative(env, e.what());
  } catch (const std::exception& e) {
    throwNative(env, e.what());
  }
}

// libtorch carries its own, newer Gloo and exports its symbols. The JVM loads libraries with RTLD_LOCAL, so this
// shim binds to Debian's libgloo.so.0; should a library ever be loaded with RTLD_GLOBAL, the two copies' structures
// would differ silently. Refuse instead.
void requireDebianGloo() {
  void (*allreduce)(const gloo::AllreduceOptions&) = &gloo::allreduce;
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(allreduce), &info) == 0 || info.dli_fname == nullptr ||
      std::string(info.dli_fname).find("libgloo.so") == std::string::npos) {
    throw std::runtime_error(std::string("gloo::allreduce resolved to ") + (info.dli_fname ? info.dli_fname : "an unknown library") +
                             ", not libgloo.so.0 (a library loaded with RTLD_GLOBAL carries another Gloo)");
  }
}

std::string utf(JNIEnv* env, jstring s) {
  if (s == nullptr) {
    return "";
  }
  const char* chars = env->GetStringUTFChars(s, nullptr);
  std::string out(chars);
  env->ReleaseStringUTFChars(s, chars);
  return out;
}

}  // namespace

extern "C" {

JNIEXPORT jlong JNICALL Java_org_agentflan_trainer_distributed_GlooNative_connect(
    JNIEnv* env, jclass, jint rank, jint size, jstring hostname, jstring iface, jlong timeoutMs, jobject bridge) {
  jlong handle = 0;
  guarded(env, [&] {
    requireDebianGloo();
    gloo::transport::tcp::attr attr;
    attr.hostname = utf(env, hostname);
    attr.iface = utf(env, iface);
    auto device = gloo::transport::tcp::CreateDevice(attr);
    auto ctx = std::make_shared<gloo::rendezvous::Context>(rank, size);
    ctx->setTimeout(std::chrono::milliseconds(timeoutMs));
    JavaStore store(env, bridge);
    ctx->connectFullMesh(store, device);
    handle = reinterpret_cast<jlong>(new ContextHandle(ctx));
  });
  return handle;
}

JNIEXPORT void JNICALL Java_org_agentflan_trainer_distributed_GlooNative_allReduce(
    JNIEnv* env, jclass, jlong handle, jobject buffer, jint type, jint tag, jlong timeoutMs) {
  guarded(env, [&] {
    byType(type, [&](auto zero) {
      using T = decltype(zero);
      allreduce<T>(context(handle), span(env, buffer), tag, timeoutMs);
    });
  });
}

JNIEXPORT void JNICALL Java_org_agentflan_trainer_distributed_GlooNative_allGather(
    JNIEnv* env, jclass, jlong handle, jobject buffer, jint type, jint tag, jlong timeoutMs) {
  guarded(env, [&] {
    byType(type, [&](auto zero) {
      using T = decltype(zero);
      allgather<T>(context(handle), span(env, buffer), tag, timeoutMs);
    });
  });
}

JNIEXPORT void JNICALL Java_org_agentflan_trainer_distributed_GlooNative_broadcast(
    JNIEnv* env, jclass, jlong handle, jobject buffer, jint type, jint root, jint tag, jlong timeoutMs) {
  guarded(env, [&] {
    byType(type, [&](auto zero) {
      using T = decltype(zero);
      broadcast<T>(context(handle), span(env, buffer), root, tag, timeoutMs);
    });
  });
}

JNIEXPORT void JNICALL Java_org_agentflan_trainer_distributed_GlooNative_barrier(
    JNIEnv* env, jclass, jlong handle, jint tag, jlong timeoutMs) {
  guarded(env, [&] {
    gloo::BarrierOptions opts(context(handle));
    opts.setTag(static_cast<uint32_t>(tag));
    opts.setTimeout(std::chrono::milliseconds(timeoutMs));
    gloo::barrier(opts);
  });
}

JNIEXPORT void JNICALL Java_org_agentflan_trainer_distributed_GlooNative_close(JNIEnv* env, jclass, jlong handle) {
  guarded(env, [&] { delete reinterpret_cast<ContextHandle*>(handle); });
}

}  // extern "C"
