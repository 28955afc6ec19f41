package org.agentflan.trainer.distributed;

import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Zero-copy views of DJL tensors for the collectives, through DJL 0.36's native {@code torchDirectByteBuffer}: its C++
 * ({@code ai_djl_pytorch_jni_PyTorchLibrary_tensor.cc}) returns {@code NewDirectByteBuffer(tensor.data_ptr(),
 * tensor.nbytes())}, the tensor's own storage, which for a CUDA tensor is its device pointer; it refuses
 * non-contiguous, sparse and MKL-DNN tensors and views over 2 GiB. The public {@code NDArray.toByteBuffer(true)}
 * calls the same function but first copies a CUDA tensor to the host and a non-contiguous one to a new contiguous
 * tensor, so an in-place collective on its view would silently miss the tensor; that is why this class calls the
 * package-private native through reflection (pinned to DJL 0.36; {@code TensorViewsTest} breaks if DJL moves it).
 */
public final class TensorViews {
    private static final Object LIBRARY;
    private static final Method DIRECT_BUFFER;

    static {
        try {
            Class<?> library = Class.forName("ai.djl.pytorch.jni.PyTorchLibrary");
            Field lib = library.getDeclaredField("LIB");
            lib.setAccessible(true);
            LIBRARY = lib.get(null);
            DIRECT_BUFFER = library.getDeclaredMethod("torchDirectByteBuffer", long.class);
            DIRECT_BUFFER.setAccessible(true);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new ExceptionInInitializerError("DJL's PyTorchLibrary.torchDirectByteBuffer(long) is not where DJL 0.36 has it: " + e);
        }
    }

    private TensorViews() {}

    /** A direct buffer over {@code array}'s own memory (native byte order); writes through it change the tensor. */
    public static ByteBuffer view(NDArray array) {
        if (!(array instanceof PtNDArray pt)) {
            throw new DistributedException("collectives work on DJL PyTorch-engine arrays, got " + array.getClass().getName());
        }
        try {
            return ((ByteBuffer) DIRECT_BUFFER.invoke(LIBRARY, pt.getHandle())).order(ByteOrder.nativeOrder());
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof EngineException engine) {
                throw new DistributedException("cannot view the " + array.getShape() + " " + array.getDataType()
                        + " array in place: " + engine.getMessage() + " (collectives need a contiguous dense tensor under 2 GiB)", engine);
            }
            throw new DistributedException("DJL's torchDirectByteBuffer failed: " + e.getCause(), e.getCause());
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }
}
