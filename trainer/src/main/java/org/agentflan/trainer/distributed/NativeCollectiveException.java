package org.agentflan.trainer.distributed;

/** Thrown by the native shims with the engine's own error text; {@link CallGuard} turns it into a {@link DistributedException}. */
final class NativeCollectiveException extends RuntimeException {
    NativeCollectiveException(String message) {
        super(message);
    }
}
