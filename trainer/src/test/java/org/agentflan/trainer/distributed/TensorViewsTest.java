package org.agentflan.trainer.distributed;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.djl.engine.Engine;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** The views collectives work on are the tensors' own memory, both ways, and anything that would be a copy is refused. */
class TensorViewsTest {
    @Test
    void aViewWritesThroughToTheTensorAndSeesItsChanges() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = m.arange(0f, 12f).reshape(3, 4);
            ByteBuffer view = TensorViews.view(a);
            assertEquals(48, view.capacity());
            view.putFloat(4 * 5, -7f);
            assertEquals(-7f, a.toFloatArray()[5], "a write through the view must change the tensor");
            a.addi(100f);
            assertEquals(111f, view.getFloat(4 * 11), "an in-place op on the tensor must show in the view");
        }
    }

    @Test
    void aGradientIsViewedInPlace() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray w = m.create(new float[] {1f, 2f, 3f});
            w.setRequiresGradient(true);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                gc.backward(w.mul(w).sum());
            }
            NDArray grad = w.getGradient();
            ByteBuffer view = TensorViews.view(grad);
            view.putFloat(0, 42f);
            assertArrayEquals(new float[] {42f, 4f, 6f}, w.getGradient().toFloatArray());
        }
    }

    @Test
    void aNonContiguousTensorIsRefusedInsteadOfCopied() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray transposed = m.arange(0f, 6f).reshape(2, 3).transpose();
            DistributedException e = assertThrows(DistributedException.class, () -> TensorViews.view(transposed));
            assertTrue(e.getMessage().contains("contiguous"), e.getMessage());
        }
    }

    @Test
    void integerTensorsAreRefusedByName() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray ids = m.arange(0, 4, 1, DataType.INT64);
            DistributedException e = assertThrows(DistributedException.class, () -> CollectiveBuffer.of(ids));
            assertTrue(e.getMessage().contains("int64"), e.getMessage());
        }
    }

    @Test
    void aDirectBufferWrappedAsATensorIsNotCopied() {
        ByteBuffer memory = ByteBuffer.allocateDirect(4 * 8).order(ByteOrder.nativeOrder());
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = m.create(memory, new Shape(8), DataType.FLOAT32);
            memory.putFloat(4 * 3, 9.5f);
            assertEquals(9.5f, a.toFloatArray()[3], "NDManager.create(directBuffer, ...) must wrap, not copy");
            assertEquals(memory.capacity(), TensorViews.view(a).capacity());
        }
    }

    @Test
    void slicesShareMemory() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = m.zeros(new Shape(10));
            CollectiveBuffer slice = CollectiveBuffer.of(a).slice(4, 3);
            assertEquals(3, slice.elements());
            slice.memory().putFloat(0, 1f);
            assertEquals(1f, a.toFloatArray()[4]);
        }
    }
}
