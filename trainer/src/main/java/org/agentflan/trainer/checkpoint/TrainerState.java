package org.agentflan.trainer.checkpoint;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.agentflan.trainer.data.DataCursor;
import org.agentflan.trainer.optim.LossScaler;

/**
 * {@code trainer_state.json}: everything besides weights and optimizer moments that a resumed run needs to continue
 * exactly. The shuffle is a pure function of (seed, epoch), so the seed is the whole RNG state (the model has no
 * dropout); the data fingerprint guards against resuming onto different data. {@code lossScale} is the fp16 loss
 * scaler's state ({@code compute_dtype: float16}), null otherwise.
 */
public record TrainerState(
        long step,
        long epoch,
        DataCursor cursor,
        long rowsSeen,
        long tokensSeen,
        long lossTokensSeen,
        long seed,
        int worldSize,
        int consecutiveNonFinite,
        String dataFingerprint,
        String configHash,
        JsonNode config,
        LossScaler.State lossScale) {

    private static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(SerializationFeature.INDENT_OUTPUT);

    public static final String FILE = "trainer_state.json";

    public void write(AtomicFileWriter files, Path dir) throws IOException {
        files.writeBytes(dir.resolve(FILE), JSON.writeValueAsString(this).getBytes(StandardCharsets.UTF_8));
    }

    /** Reads {@code dir/trainer_state.json}; a missing, truncated or malformed file names itself and what is wrong. */
    public static TrainerState read(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            throw CheckpointFormatException.of(file, "missing");
        }
        TrainerState state;
        try {
            state = JSON.readValue(Files.readAllBytes(file), TrainerState.class);
        } catch (JsonProcessingException e) {
            throw CheckpointFormatException.of(file, "not a trainer state (" + e.getOriginalMessage()
                    .replaceAll("\\[Source: [^;]*; ", "[") + ")");
        }
        if (state == null || state.cursor() == null || state.config() == null || state.dataFingerprint() == null) {
            throw CheckpointFormatException.of(file, "incomplete: no cursor, config or data_fingerprint");
        }
        return state;
    }
}
