package org.agentflan.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.io.OutputStream;
import java.io.PrintStream;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.agentflan.trainer.distributed.RankAssignment;
import org.junit.jupiter.api.Test;

/** The bucket layout (the sums themselves run between real ranks in {@link DataParallelTrainTest}). */
class GradientReducerTest {
    @Test
    void consecutiveWeightsFillBucketsUpToTheLimitAndALargerWeightGetsItsOwn() {
        try (NDManager m = NDManager.newBaseManager();
             DataParallel one = DataParallel.join(RankAssignment.single(), Device.cpu(), "h", Duration.ofSeconds(5),
                     new PrintStream(OutputStream.nullOutputStream()))) {
            Map<String, NDArray> params = new LinkedHashMap<>();
            params.put("a", m.zeros(new Shape(100)));     // 400 bytes
            params.put("b", m.zeros(new Shape(10, 10)));  // 400
            params.put("c", m.zeros(new Shape(50)));      // 200: a+b+c = 1000 fits
            params.put("d", m.zeros(new Shape(2, 1000))); // 8000: larger than a bucket, alone
            params.put("e", m.zeros(new Shape(1)));
            params.put("f", m.zeros(new Shape(250)));     // e+f = 1004 > 1000: f starts a new bucket
            GradientReducer reducer = new GradientReducer(one, params, 1000);
            assertEquals(List.of(List.of("a", "b", "c"), List.of("d"), List.of("e"), List.of("f")), reducer.buckets());
            // One rank: the gradients are already the sum.
            assertSame(params, reducer.reduce(params, m));
        }
    }
}
