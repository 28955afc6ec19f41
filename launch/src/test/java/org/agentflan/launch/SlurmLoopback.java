package org.agentflan.launch;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A real single-node Slurm cluster on 127.0.0.1 for tests: Debian's munged, slurmctld and slurmd, run as root with
 * every file (config, munge key and socket, state, spool, logs, pid files) in one folder, and ports picked free so
 * that two test runs on a machine do not meet. {@link #close} cancels the jobs this cluster holds, then stops the
 * daemons it started by the pids in their pid files, and nothing else. The recipe and the behaviour it relies on are
 * in ../shared/docs/slurm-loopback.md.
 */
final class SlurmLoopback implements AutoCloseable {
    private static final List<String> BINARIES = List.of("munged", "slurmctld", "slurmd", "sbatch", "srun", "scontrol",
            "squeue", "scancel", "sinfo");
    private static final Duration START = Duration.ofSeconds(60);
    private static final Duration STOP = Duration.ofSeconds(20);

    private final Path dir;
    private final Path conf;

    private SlurmLoopback(Path dir) {
        this.dir = dir;
        this.conf = dir.resolve("slurm.conf");
    }

    /** Why no cluster can start here (Slurm or munge not installed, not root), or empty. */
    static Optional<String> unavailableReason() {
        List<String> missing = BINARIES.stream().filter(b -> which(b).isEmpty()).toList();
        if (!missing.isEmpty()) {
            return Optional.of("skipped: " + String.join(", ", missing) + " not found; install Debian's slurmctld slurmd"
                    + " slurm-client munge (.ci/run does) to run the Slurm tests");
        }
        if (!"root".equals(System.getProperty("user.name"))) {
            return Optional.of("skipped: slurmd starts jobs as their user, which needs root; run the Slurm tests as root");
        }
        return Optional.empty();
    }

    /** Starts munged, slurmctld and slurmd with their files in {@code dir}, and waits until the node is idle. */
    static SlurmLoopback start(Path dir) throws Exception {
        SlurmLoopback cluster = new SlurmLoopback(dir);
        try {
            cluster.startDaemons();
        } catch (Exception | AssertionError e) {
            cluster.close();
            throw e;
        }
        return cluster;
    }

    private void startDaemons() throws Exception {
        for (String sub : List.of("run", "log", "state", "spool", "munge")) {
            Files.createDirectories(dir.resolve(sub));
        }
        Path key = dir.resolve("munge/munge.key");
        byte[] secret = new byte[1024];
        new SecureRandom().nextBytes(secret);
        Files.write(key, secret);
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("r--------")); // munged refuses a readable key
        int[] ports = freePorts(2);
        Files.writeString(conf, config(dir, ports[0], ports[1]), StandardCharsets.UTF_8);

        // --force: munged refuses root and a key not owned by user munge without it.
        start(List.of("munged", "--force", "--key-file=" + key, "--socket=" + dir.resolve("run/munge.socket"),
                "--pid-file=" + dir.resolve("run/munged.pid"), "--log-file=" + dir.resolve("log/munged.log"),
                "--seed-file=" + dir.resolve("munge/munged.seed")));
        await("munged's socket", () -> Files.exists(dir.resolve("run/munge.socket")));
        start(List.of("slurmctld", "-f", conf.toString()));
        // -N: the node's name is NodeName whatever this machine's host name is.
        start(List.of("slurmd", "-f", conf.toString(), "-N", "localhost"));
        await("the node to be idle (sinfo)", () -> client("sinfo", "-h", "-N", "-o", "%t").strip().equals("idle"));
    }

    private static String config(Path b, int ctldPort, int slurmdPort) {
        return String.join("\n",
                "ClusterName=loop",
                "SlurmctldHost=localhost(127.0.0.1)",
                "SlurmUser=root",
                "SlurmdUser=root",
                "SlurmctldPort=" + ctldPort,
                "SlurmdPort=" + slurmdPort,
                "AuthType=auth/munge",
                "CredType=cred/munge",
                "AuthInfo=socket=" + b.resolve("run/munge.socket"),
                "StateSaveLocation=" + b.resolve("state"),
                "SlurmdSpoolDir=" + b.resolve("spool") + "/%n",
                "SlurmctldPidFile=" + b.resolve("run/slurmctld.pid"),
                "SlurmdPidFile=" + b.resolve("run/slurmd.pid"),
                "SlurmctldLogFile=" + b.resolve("log/slurmctld.log"),
                "SlurmdLogFile=" + b.resolve("log/slurmd.log"),
                "ProctrackType=proctrack/linuxproc",
                "TaskPlugin=task/none",
                "JobAcctGatherType=jobacct_gather/none",
                "AccountingStorageType=accounting_storage/none",
                "JobCompType=jobcomp/none",
                "SwitchType=switch/none",
                "MpiDefault=none",
                "MailProg=/bin/true",
                "SchedulerType=sched/backfill",
                "SelectType=select/cons_tres",
                "SelectTypeParameters=CR_Core",
                "ReturnToService=2",
                "SlurmctldTimeout=30",
                "SlurmdTimeout=30",
                "InactiveLimit=0",
                "MinJobAge=300",
                // Slurm's default: the ranks have this long after SIGTERM to finish a step and checkpoint.
                "KillWait=30",
                "SchedulerParameters=sched_interval=1",
                // The node is what this file says, even on a machine with fewer cores than the two tasks need.
                "SlurmdParameters=config_overrides",
                "NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN",
                "PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO",
                "");
    }

    /** The variables a Slurm client (and a job it submits) needs to find this cluster. */
    Map<String, String> environment() {
        return Map.of("SLURM_CONF", conf.toString());
    }

    /** Runs a Slurm client command against this cluster; returns its output, failing on a non-zero status. */
    String client(String... command) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(command));
        cmd.set(0, which(cmd.get(0)).orElseThrow().toString());
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(environment());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " failed: " + out);
        }
        return out;
    }

    /** One field of {@code scontrol show job ID} (JobState, Reason, Restarts, ...). */
    String jobField(long jobId, String field) throws Exception {
        for (String word : client("scontrol", "show", "job", Long.toString(jobId)).split("\\s+")) {
            if (word.startsWith(field + "=")) {
                return word.substring(field.length() + 1);
            }
        }
        throw new AssertionError("scontrol show job " + jobId + " has no " + field);
    }

    /** Waits until job {@code jobId} is in {@code state} (PENDING, COMPLETED, ...), failing on timeout. */
    void awaitJobState(long jobId, String state, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        String now = jobField(jobId, "JobState");
        while (!now.equals(state)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("job " + jobId + " is " + now + ", not " + state + " after " + timeout.toSeconds()
                        + " s\n" + client("scontrol", "show", "job", Long.toString(jobId)));
            }
            Thread.sleep(250);
            now = jobField(jobId, "JobState");
        }
    }

    /** slurmctld's and slurmd's logs, for a failing test's message. */
    String logs() throws IOException {
        StringBuilder s = new StringBuilder();
        for (String log : List.of("slurmctld.log", "slurmd.log")) {
            Path file = dir.resolve("log").resolve(log);
            if (Files.exists(file)) {
                List<String> lines = Files.readAllLines(file);
                s.append("--- ").append(file).append(" (last 40 lines)\n");
                lines.subList(Math.max(0, lines.size() - 40), lines.size()).forEach(l -> s.append(l).append('\n'));
            }
        }
        return s.toString();
    }

    /** Cancels this cluster's jobs (their ranks would outlive slurmd), then stops the daemons this object started. */
    @Override
    public void close() throws Exception {
        if (Files.exists(dir.resolve("run/slurmctld.pid"))) {
            try {
                client("scancel", "--user=root");
                long deadline = System.nanoTime() + STOP.toNanos();
                while (!client("squeue", "-h").isBlank() && System.nanoTime() < deadline) {
                    Thread.sleep(250);
                }
            } catch (Exception | AssertionError e) {
                System.err.println("SlurmLoopback: cancelling the jobs failed (" + e.getMessage() + "); stopping the daemons");
            }
        }
        List<ProcessHandle> started = new ArrayList<>();
        for (String pidFile : List.of("slurmd.pid", "slurmctld.pid", "munged.pid")) {
            Path file = dir.resolve("run").resolve(pidFile);
            if (Files.exists(file)) {
                ProcessHandle.of(Long.parseLong(Files.readString(file).strip())).ifPresent(started::add);
            }
        }
        started.forEach(ProcessHandle::destroy); // SIGTERM
        long deadline = System.nanoTime() + STOP.toNanos();
        for (ProcessHandle p : started) {
            while (p.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            if (p.isAlive()) {
                p.destroyForcibly();
            }
        }
    }

    /** Starts a daemon: it forks into the background and its starter exits at once (its output to log/). */
    private void start(List<String> command) throws Exception {
        List<String> cmd = new ArrayList<>(command);
        cmd.set(0, which(cmd.get(0)).orElseThrow().toString());
        Path out = dir.resolve("log").resolve(command.get(0) + ".start.log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " did not start: " + Files.readString(out) + "\n" + logs());
        }
    }

    private interface Check {
        boolean holds() throws Exception;
    }

    private void await(String what, Check check) throws Exception {
        long deadline = System.nanoTime() + START.toNanos();
        while (true) {
            try {
                if (check.holds()) return;
            } catch (AssertionError notYet) {
                // a client that cannot reach slurmctld yet
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("waited " + START.toSeconds() + " s for " + what + "\n" + logs());
            }
            Thread.sleep(100);
        }
    }

    private static Optional<Path> which(String binary) {
        for (String folder : List.of("/usr/sbin", "/usr/bin", "/sbin", "/bin")) {
            Path p = Path.of(folder, binary);
            if (Files.isExecutable(p)) return Optional.of(p);
        }
        return Optional.empty();
    }

    /** Ports free now, all different (each held open until all are picked). */
    private static int[] freePorts(int n) throws IOException {
        List<ServerSocket> held = new ArrayList<>();
        try {
            int[] ports = new int[n];
            for (int i = 0; i < n; i++) {
                held.add(new ServerSocket(0, 1, InetAddress.getLoopbackAddress()));
                ports[i] = held.get(i).getLocalPort();
            }
            return ports;
        } finally {
            for (ServerSocket s : held) s.close();
        }
    }
}
