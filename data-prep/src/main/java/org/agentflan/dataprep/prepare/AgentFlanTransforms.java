package org.agentflan.dataprep.prepare;

import org.agentflan.dataprep.model.Conversation;
import org.agentflan.dataprep.transform.CapabilityBalancer;
import org.agentflan.dataprep.transform.CapabilityTagger;
import org.agentflan.dataprep.transform.FormatAlignment;
import org.agentflan.dataprep.transform.NegativeSampler;
import org.agentflan.dataprep.transform.SourceMixer;
import org.apache.spark.sql.Dataset;

/**
 * The Agent-FLAN transforms in recipe order, each switched and tuned by its section of the data config:
 * format alignment (ReAct steps to chat turns), capability tagging, kind-(b) negatives (built from the tagged
 * corpus: real tool lists plus general chat), capability rebalancing, then mixing of sources by weight.
 */
final class AgentFlanTransforms {
    private AgentFlanTransforms() {}

    static Dataset<Conversation> apply(Dataset<Conversation> corpus, DataConfig cfg) {
        // Each transform returns its input unchanged when its section says enabled: false.
        Dataset<Conversation> aligned = new FormatAlignment(cfg.formatAlignment(), cfg.seed()).apply(corpus);
        Dataset<Conversation> tagged = new CapabilityTagger(cfg.capabilityTagging()).apply(aligned);
        // No union when negatives are off: it would cut the chain of typed steps, which Spark otherwise runs on
        // the same objects without encoding them back to rows in between.
        Dataset<Conversation> withNegatives = cfg.negatives().enabled()
                ? tagged.union(new NegativeSampler(cfg.negatives(), cfg.seed()).build(tagged))
                : tagged;
        Dataset<Conversation> balanced =
                new CapabilityBalancer(cfg.capabilityBalance(), cfg.seed()).apply(withNegatives);
        return SourceMixer.of(cfg.sources(), cfg.seed()).apply(balanced);
    }
}
