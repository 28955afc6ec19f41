package org.agentflan.dataprep.source;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.agentflan.config.Validatable;

/**
 * One configured input. In YAML (a list item under the data config's {@code sources}):
 * <pre>
 * - name: toolbench          # unique; the unit of mixing, manifest counts and rejects
 *   path: data/toolbench/    # a file, a folder (every file in it and its subfolders), or a glob such as
 *                            # data/*.jsonl or data/G*_answer/*.json
 *   format: toolbench_raw    # agent_flan | agent_instruct | toolbench_raw | toolllama | sharegpt
 *   weight: 1.0              # mixing weight: 0.5 keeps half, 2.5 emits every record 2 or 3 times
 * </pre>
 * Ids derived from content use the file name relative to {@code path}, so moving the whole folder keeps them.
 */
public record SourceSpec(String name, String path, SourceFormat format, double weight) implements Serializable, Validatable {

    /** Binds a YAML/JSON source entry; list items get no per-key defaults from the config loader, so weight defaults here. */
    @JsonCreator
    public static SourceSpec fromConfig(@JsonProperty("name") String name, @JsonProperty("path") String path,
                                        @JsonProperty("format") SourceFormat format, @JsonProperty("weight") Double weight) {
        return new SourceSpec(name, path, format, weight == null ? 1.0 : weight);
    }

    @Override
    public List<String> problems() {
        List<String> problems = new ArrayList<>();
        String where = "source '" + name + "'";
        if (name == null || name.isBlank()) {
            problems.add("source name must be set (it names the source in the manifest and rejects)");
        }
        if (path == null || path.isBlank()) {
            problems.add(where + ": path must be set");
        }
        if (format == null) {
            problems.add(where + ": format must be set");
        }
        if (!(weight >= 0) || Double.isInfinite(weight)) {
            problems.add(where + ": weight must be a finite number >= 0, got " + weight);
        }
        return problems;
    }
}
