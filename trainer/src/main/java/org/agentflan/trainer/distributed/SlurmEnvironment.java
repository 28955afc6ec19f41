package org.agentflan.trainer.distributed;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Slurm's environment in a task that {@code srun} started: {@code SLURM_PROCID} is the rank, {@code SLURM_NTASKS} the
 * world size (the step's tasks), {@code SLURM_LOCALID} the local rank, and rank 0's store is on the first host of
 * {@code SLURM_STEP_NODELIST} (else {@code SLURM_JOB_NODELIST}), where task 0 runs, at port
 * {@code 15000 + SLURM_JOB_ID % 15000}. Every rank computes the same address from its own variables, so none has to
 * tell the others; the port stays below Linux's ephemeral range (32768 and up), where an outgoing connection could
 * hold it. {@code MASTER_ADDR} and {@code MASTER_PORT}, when set, replace the host and the port (another port when two
 * jobs on one node collide). A requeued job keeps its id, and so its port; {@code SLURM_RESTART_COUNT} is shown.
 *
 * <p>It applies only inside a job step ({@code SLURM_STEP_ID} set): an {@code sbatch} script's own shell also has
 * {@code SLURM_PROCID=0} and {@code SLURM_NTASKS}, but it is one process, and a {@code train} started there without
 * {@code srun} is one rank, not rank 0 of a job whose other ranks never start.
 */
public final class SlurmEnvironment implements RankSource {
    static final int PORT_BASE = 15000;
    static final int PORT_SPAN = 15000;
    private static final List<String> REQUIRED = List.of("SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", "SLURM_JOB_ID");

    @Override
    public Optional<RankAssignment> detect(Map<String, String> env) {
        if (!env.containsKey("SLURM_STEP_ID")) {
            return Optional.empty();
        }
        List<String> missing = new ArrayList<>();
        for (String name : REQUIRED) {
            if (blank(env, name)) missing.add(name);
        }
        String nodelistName = blank(env, "SLURM_STEP_NODELIST") ? "SLURM_JOB_NODELIST" : "SLURM_STEP_NODELIST";
        if (blank(env, nodelistName)) missing.add("SLURM_STEP_NODELIST or SLURM_JOB_NODELIST");
        if (!missing.isEmpty()) {
            throw new DistributedException("SLURM_STEP_ID is set, so this is a task of a Slurm job step, but "
                    + String.join(", ", missing) + (missing.size() == 1 ? " is" : " are") + " not set; srun sets them"
                    + " all (unset SLURM_STEP_ID if this process is not a task that srun started)");
        }
        // A federation's job ids carry the cluster in their high bits, past 2^31.
        long jobId = number(env, "SLURM_JOB_ID", 0xffffffffL);
        String host = blank(env, "MASTER_ADDR") ? firstHost(env, nodelistName) : env.get("MASTER_ADDR").trim();
        int port = blank(env, "MASTER_PORT") ? (int) (PORT_BASE + jobId % PORT_SPAN) : (int) number(env, "MASTER_PORT", 65535);
        long restarts = blank(env, "SLURM_RESTART_COUNT") ? 0 : number(env, "SLURM_RESTART_COUNT", Integer.MAX_VALUE);
        String source = "Slurm's environment (job " + jobId + ", step " + env.get("SLURM_STEP_ID").trim() + ", restart "
                + restarts + ")";
        return Optional.of(new RankAssignment((int) number(env, "SLURM_PROCID", Integer.MAX_VALUE),
                (int) number(env, "SLURM_NTASKS", Integer.MAX_VALUE), (int) number(env, "SLURM_LOCALID", Integer.MAX_VALUE),
                host, port, source));
    }

    private static String firstHost(Map<String, String> env, String name) {
        try {
            return SlurmHostlist.first(env.get(name).trim());
        } catch (IllegalArgumentException e) {
            throw new DistributedException(name + "=" + env.get(name) + " is not a Slurm host list: " + e.getMessage());
        }
    }

    private static boolean blank(Map<String, String> env, String name) {
        return env.get(name) == null || env.get(name).isBlank();
    }

    private static long number(Map<String, String> env, String name, long max) {
        String value = env.get(name).trim();
        try {
            long n = Long.parseLong(value);
            if (n < 0 || n > max) throw new NumberFormatException();
            return n;
        } catch (NumberFormatException e) {
            throw new DistributedException(name + "=" + value + " is not a whole number from 0 to " + max);
        }
    }
}
