package org.agentflan.trainer;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/** Entry point of the child JVM the crash test kills: {@code <run-dir> <data-dir> [--set overrides...]}. */
public final class TrainChildMain {
    private TrainChildMain() {}

    public static void main(String[] args) throws Exception {
        List<String> extra = Arrays.asList(args).subList(2, args.length);
        Train.Result r = Train.run(new Train.Options(null,
                TrainFixtures.tinyRun(Path.of(args[1]), extra.toArray(String[]::new)), Path.of(args[0]), null, null, null),
                System.out);
        System.out.println("child finished: " + r.stopReason() + " at step " + r.endStep());
        System.exit(0);
    }
}
