package org.agentflan.trainer.distributed;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * torchrun's environment: {@code RANK}, {@code WORLD_SIZE}, {@code LOCAL_RANK}, {@code MASTER_ADDR} and
 * {@code MASTER_PORT}, as torchrun (and {@code agentflan train --nproc}, and Kubernetes' PyTorchJob with
 * {@code LOCAL_RANK} added) sets them. It applies when {@code RANK} or {@code WORLD_SIZE} is set; then all five are
 * required, because a missing {@code LOCAL_RANK} would put every rank of a node on GPU 0.
 */
public final class TorchrunEnvironment implements RankSource {
    static final List<String> VARIABLES = List.of("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT");
    private static final String SOURCE = "torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT)";

    @Override
    public Optional<RankAssignment> detect(Map<String, String> env) {
        if (!env.containsKey("RANK") && !env.containsKey("WORLD_SIZE")) {
            return Optional.empty();
        }
        List<String> missing = new ArrayList<>();
        for (String name : VARIABLES) {
            if (env.get(name) == null || env.get(name).isBlank()) {
                missing.add(name);
            }
        }
        if (!missing.isEmpty()) {
            throw new DistributedException("RANK or WORLD_SIZE is set, so this is a rank of a multi-process job, but "
                    + String.join(", ", missing) + (missing.size() == 1 ? " is" : " are") + " not set; a torchrun-style"
                    + " launcher sets all of " + String.join(", ", VARIABLES) + " (LOCAL_RANK=0 for one process per machine)");
        }
        return Optional.of(new RankAssignment(number(env, "RANK"), number(env, "WORLD_SIZE"), number(env, "LOCAL_RANK"),
                env.get("MASTER_ADDR").trim(), number(env, "MASTER_PORT"), SOURCE));
    }

    /** A launcher variable that must be a whole number; other rank sources read theirs with it too. */
    static int number(Map<String, String> env, String name) {
        String value = env.get(name).trim();
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new DistributedException(name + "=" + value + " is not a whole number");
        }
    }
}
