package org.agentflan.launch;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.LibUtils;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The libtorch that DJL's PyTorch engine loaded, found by loading the engine as {@code train} does: PYTORCH_LIBRARY_PATH
 * (with PYTORCH_VERSION and PYTORCH_FLAVOR) when set, else the bundled CPU build. Loading it is the only way to know:
 * DJL picks among those sources at load time, so reading a properties file would report a libtorch that may not load.
 */
record Libtorch(Engine engine, String version, boolean cudaBuild, Path folder) {
    /** Loads the engine; throws what {@link Engine#getEngine} throws (RuntimeException, UnsatisfiedLinkError). */
    static Libtorch load() {
        Engine engine = Engine.getEngine("PyTorch");
        Path folder = Path.of(LibUtils.getLibtorchPath());
        return new Libtorch(engine, engine.getVersion(), Files.exists(folder.resolve("libtorch_cuda.so")), folder);
    }

    /** e.g. "libtorch 2.7.1, CPU build, loaded from /root/.cache/agentflan/djl/pytorch/2.7.1-cpu-linux-x86_64". */
    String describe() {
        return "libtorch " + version + ", " + (cudaBuild ? "CUDA build" : "CPU build") + ", loaded from " + folder;
    }
}
