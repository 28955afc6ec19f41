package org.agentflan.trainer.distributed;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import java.nio.ByteBuffer;

/**
 * The memory a collective works on, in place: a direct buffer over a tensor's own storage (host memory, or for a CUDA
 * tensor its device memory, which Java must not touch) and its element type. The buffer does not keep the tensor
 * alive: keep the {@link NDArray} open until the collective returns.
 *
 * @param memory a direct buffer whose capacity is exactly the bytes the collective covers
 * @param cudaDevice the CUDA device index that holds {@code memory}, or -1 for host memory
 */
public record CollectiveBuffer(ByteBuffer memory, ElementType type, int cudaDevice) {
    public CollectiveBuffer {
        if (!memory.isDirect()) {
            throw new DistributedException("collectives need a direct buffer (native memory), got a heap buffer");
        }
        if (memory.capacity() % type.bytes() != 0) {
            throw new DistributedException(memory.capacity() + " bytes are not a whole number of " + type + " elements");
        }
    }

    /** A zero-copy view of a contiguous float tensor of DJL's PyTorch engine, on the CPU or a CUDA device. */
    public static CollectiveBuffer of(NDArray array) {
        ElementType type = ElementType.of(array.getDataType());
        Device device = array.getDevice();
        int cuda = device.isGpu() ? device.getDeviceId() : -1;
        return new CollectiveBuffer(TensorViews.view(array), type, cuda);
    }

    /** Host memory the caller allocated, e.g. {@code ByteBuffer.allocateDirect}. */
    public static CollectiveBuffer host(ByteBuffer memory, ElementType type) {
        return new CollectiveBuffer(memory, type, -1);
    }

    public int elements() {
        return memory.capacity() / type.bytes();
    }

    public boolean onCuda() {
        return cudaDevice >= 0;
    }

    /** Elements {@code [from, from + count)} of this buffer, sharing its memory. */
    public CollectiveBuffer slice(int from, int count) {
        if (from < 0 || count < 0 || from + count > elements()) {
            throw new IndexOutOfBoundsException("slice [" + from + ", " + (from + count) + ") of " + elements() + " elements");
        }
        // slice() resets the byte order to big-endian; keep the view's (native) order for Java readers.
        return new CollectiveBuffer(memory.slice(from * type.bytes(), count * type.bytes()).order(memory.order()), type, cudaDevice);
    }

    String describe() {
        return String.format("%,d %s elements on %s", elements(), type.name().toLowerCase(java.util.Locale.ROOT),
                onCuda() ? "cuda:" + cudaDevice : "the CPU");
    }
}
