package org.agentflan.launch;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.util.cuda.CudaUtils;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.lang.management.MemoryUsage;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.agentflan.trainer.distributed.NativeBackends;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code agentflan env}: what this machine gives training, found by loading each piece as {@code train} would: the JVM,
 * DJL and its PyTorch engine (libtorch's version, CPU or CUDA build, and the folder it was loaded from), the devices,
 * and the collectives backends. Each missing piece comes with what to install.
 */
@Command(name = "env",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        header = "Prints the Java, DJL and libtorch versions, devices and backends.",
        description = {"Prints the Java, DJL and libtorch versions, where libtorch was loaded from, the devices, and whether",
            "CUDA, NCCL (GPU ranks) and Gloo (CPU ranks) are usable, with what to install where one is missing."},
        footerHeading = Main.EXAMPLES,
        footer = {
            "  scripts/agentflan env",
            "  scripts/agentflan env --json"})
public final class EnvCommand implements Callable<Integer> {
    static final String LIBTORCH = "2.7.1";
    static final String CUDA_HINT = "set PYTORCH_LIBRARY_PATH to the lib folder of a libtorch " + LIBTORCH + " CUDA 12.8"
            + " install (pytorch.org's libtorch cu128, cxx11 ABI, or pip's torch==" + LIBTORCH + "+cu128 torch/lib), with"
            + " PYTORCH_VERSION=" + LIBTORCH + " and PYTORCH_FLAVOR=cu128 (README: Running on GPU nodes)";

    @Option(names = "--json", description = "print one JSON object instead of lines")
    boolean json;

    /** One line of the report: a piece, whether it is usable, what it is, and what to install when it is not. */
    record Check(boolean usable, String detail, String install) {
        static Check of(NativeBackends.Status status) {
            return new Check(status.usable(), status.detail(), status.install());
        }
    }

    @Override
    public Integer call() throws Exception {
        Map<String, Object> report = probe();
        if (json) {
            System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(report));
            return 0;
        }
        for (Map.Entry<String, Object> entry : report.entrySet()) {
            String value = entry.getValue() instanceof Check check
                    ? (check.usable() ? "yes: " : "no: ") + check.detail() + (check.install() == null ? "" : "\n"
                            + " ".repeat(10) + "to fix: " + check.install())
                    : entry.getValue() instanceof List<?> list ? String.join(", ", list.stream().map(String::valueOf).toList())
                    : String.valueOf(entry.getValue());
            System.out.printf(Locale.ROOT, "%-9s %s%n", entry.getKey() + ":", value);
        }
        return 0;
    }

    /** The report, in print order. */
    static Map<String, Object> probe() {
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("java", System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ") at "
                + System.getProperty("java.home"));
        report.put("djl", Engine.getDjlVersion());
        Libtorch libtorch;
        try {
            libtorch = Libtorch.load();
        } catch (RuntimeException | UnsatisfiedLinkError e) {
            report.put("engine", new Check(false, "the PyTorch engine did not load: " + e.getMessage(),
                    "check PYTORCH_LIBRARY_PATH, PYTORCH_VERSION and PYTORCH_FLAVOR, or unset them to use the bundled CPU"
                            + " libtorch " + LIBTORCH));
            report.put("gloo", Check.of(NativeBackends.gloo()));
            return report;
        }
        report.put("engine", new Check(true, "PyTorch, " + libtorch.describe(), null));
        report.put("devices", devices(libtorch.engine()));
        report.put("cuda", cuda(libtorch.engine(), libtorch.cudaBuild()));
        report.put("nccl", Check.of(NativeBackends.nccl()));
        report.put("gloo", Check.of(NativeBackends.gloo()));
        return report;
    }

    private static List<String> devices(Engine engine) {
        List<String> devices = new ArrayList<>(List.of("cpu (" + Runtime.getRuntime().availableProcessors() + " cores)"));
        for (int i = 0; i < engine.getGpuCount(); i++) {
            MemoryUsage memory = CudaUtils.getGpuMemory(Device.gpu(i));
            devices.add(String.format(Locale.ROOT, "gpu(%d) (compute capability %s, %.1f GiB, %.1f GiB in use)", i,
                    CudaUtils.getComputeCapability(i), memory.getMax() / (double) (1L << 30),
                    memory.getCommitted() / (double) (1L << 30)));
        }
        return devices;
    }

    /** Usable when libtorch sees a GPU and a tensor can be made on it; otherwise why not, from what the driver shows. */
    private static Check cuda(Engine engine, boolean cudaBuild) {
        int driverGpus = CudaUtils.hasCuda() ? CudaUtils.getGpuCount() : 0;
        if (engine.getGpuCount() == 0) {
            if (!cudaBuild && driverGpus > 0) {
                return new Check(false, "the machine has " + driverGpus + " GPU(s) (CUDA " + CudaUtils.getCudaVersionString()
                        + "), but the loaded libtorch is the CPU build", CUDA_HINT);
            }
            if (!cudaBuild) {
                return new Check(false, "no GPU: neither libtorch (CPU build) nor the CUDA runtime sees one",
                        "on a GPU node, install NVIDIA's driver, then " + CUDA_HINT);
            }
            return new Check(false, "the loaded libtorch is a CUDA build but sees no GPU",
                    "install NVIDIA's driver (libcuda.so.1) and check that the GPUs are visible (nvidia-smi,"
                            + " CUDA_VISIBLE_DEVICES)");
        }
        try (NDManager manager = NDManager.newBaseManager(Device.gpu(0), engine.getEngineName())) {
            float sum = manager.ones(new ai.djl.ndarray.types.Shape(4)).sum().getFloat();
            return new Check(sum == 4f, engine.getGpuCount() + " GPU(s); a tensor on gpu(0) summed to " + sum,
                    sum == 4f ? null : "libtorch computes wrong results on gpu(0): check the driver and CUDA versions");
        } catch (RuntimeException e) {
            return new Check(false, "libtorch sees " + engine.getGpuCount() + " GPU(s) but cannot compute on gpu(0): "
                    + e.getMessage(), "check that the driver supports CUDA 12.8 (nvidia-smi)");
        }
    }
}
