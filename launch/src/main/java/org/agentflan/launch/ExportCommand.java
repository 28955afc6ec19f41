package org.agentflan.launch;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.agentflan.trainer.TrainConfig;
import org.agentflan.trainer.checkpoint.Export;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code agentflan export}: an HF folder for serving, in a chosen dtype, from a checkpoint's fp32 master weights. */
@Command(name = "export",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        header = "Writes an HF model folder in a chosen dtype from a checkpoint.",
        description = {"Writes an HF model folder (safetensors, index, config.json, generation_config.json, tokenizer "
                + "files) in the chosen dtype from a training checkpoint's fp32 master weights, or from any HF folder.",
            "The folder is written beside --out under a temporary name and renamed when complete: it is whole or absent."},
        footerHeading = Main.EXAMPLES,
        footer = {
            "  scripts/agentflan export --out work/export/tiny-bf16 \\",
            "      --checkpoint work/runs/tiny/checkpoints/step_00000040",
            "  scripts/agentflan export --dtype float16 --out work/export/tiny-fp16 \\",
            "      --checkpoint work/runs/tiny/checkpoints/step_00000040"})
public final class ExportCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--checkpoint", required = true, paramLabel = "DIR",
            description = "A checkpoint folder (<run>/checkpoints/step_N) or an HF model folder.")
    Path checkpoint;

    @Option(names = "--dtype", defaultValue = "bfloat16", paramLabel = "DTYPE", completionCandidates = DtypeNames.class,
            description = "Weight dtype: float32, float16 or bfloat16 (round to nearest even). Default: ${DEFAULT-VALUE}.")
    TrainConfig.Dtype dtype;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "The folder to create; must not exist.")
    Path out;

    @Option(names = "--max-shard-bytes", defaultValue = "5000000000", paramLabel = "N",
            description = "Largest safetensors shard, in bytes. Default: ${DEFAULT-VALUE}.")
    long maxShardBytes;

    /** The dtypes as configs and this help write them (lowercase), for bash completion; parsing ignores case. */
    static final class DtypeNames implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return Arrays.stream(TrainConfig.Dtype.values()).map(d -> d.name().toLowerCase(Locale.ROOT)).iterator();
        }
    }

    @Override
    public Integer call() {
        if (maxShardBytes <= 0) {
            throw new UserError("--max-shard-bytes must be > 0, got " + maxShardBytes + "; give a shard size in bytes,"
                    + " e.g. 5000000000");
        }
        InputPaths.folder("--checkpoint", checkpoint, "a checkpoint folder (<run>/checkpoints/step_N) or an HF"
                + " model folder");
        try {
            Export.Result r = Export.run(checkpoint, dtype.dataType(), out, maxShardBytes);
            if (!"float32".equals(r.weightsDtype())) {
                spec.commandLine().getErr().println("warning: " + r.weights() + " holds " + r.weightsDtype() + " weights, not fp32"
                        + " masters: the export starts from those values");
            }
            System.out.println("exported " + r.weights() + " as " + dtype.name().toLowerCase(Locale.ROOT)
                    + " to " + r.out());
            return 0;
        } catch (IllegalArgumentException e) {
            throw new UserError(e.getMessage(), e);
        } catch (IOException e) {
            throw new UserError("cannot export " + checkpoint + ": " + IoFailure.describe(e), e);
        } catch (UncheckedIOException e) {
            throw new UserError(IoFailure.describe(e), e);
        }
    }
}
