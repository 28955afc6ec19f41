package org.agentflan.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A bad config stops each command before any work, exit code 2, with every problem and its line in one message. */
class ConfigErrorsTest {
    @TempDir Path tmp;

    @Test
    void trainNamesEveryProblemOfItsConfigWithItsLine() throws Exception {
        Path file = tmp.resolve("train.yaml");
        Files.writeString(file, "model:\n  init: llama3\nbatch:\n  micro_batch: 2.7\n  grad_acum: 2\noptimizer:\n  lr: .inf\n");
        Path run = tmp.resolve("run");
        CliRun bad = CliRun.of("train", "--config", file.toString(), "--run-dir", run.toString(), "--set", "epochs=0");
        assertEquals(2, bad.code(), bad.out() + bad.err());
        for (String expected : new String[] {
                file + " line 2: model.init must be one of tiny, llama2_7b, llama2_13b, llama2_70b, hf; got 'llama3'",
                file + " line 4: batch.micro_batch must be a whole number, got 2.7",
                file + " line 5: unknown key 'batch.grad_acum' (did you mean 'grad_accum'?)",
                file + " line 7: optimizer.lr must be a finite number, got .inf",
                "--set epochs=0: epochs must be > 0, got 0"}) {
            assertTrue(bad.err().contains(expected), "missing '" + expected + "' in:\n" + bad.err());
        }
        assertFalse(Files.exists(run), "nothing may be written before the config is valid");
    }

    @Test
    void prepareNamesEveryProblemOfItsConfigWithItsLine() throws Exception {
        Path file = tmp.resolve("data.yaml");
        Files.writeString(file, "max_length: 4096\nover_length: cut\nseed: 1\nmax_length: 2048\noutptu: x\n");
        CliRun bad = CliRun.of("prepare", "--config", file.toString());
        assertEquals(2, bad.code(), bad.out() + bad.err());
        for (String expected : new String[] {
                file + " line 2: over_length must be one of drop, truncate_turns; got 'cut'",
                file + " line 4: duplicate key 'max_length' (first at line 1)",
                file + " line 5: unknown key 'outptu' (did you mean 'output'?)"}) {
            assertTrue(bad.err().contains(expected), "missing '" + expected + "' in:\n" + bad.err());
        }
    }
}
