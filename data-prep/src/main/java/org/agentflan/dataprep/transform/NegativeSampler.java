package org.agentflan.dataprep.transform;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.agentflan.dataprep.model.Capability;
import org.agentflan.dataprep.model.Conversation;
import org.agentflan.dataprep.model.Turn;
import org.agentflan.dataprep.source.ReActPrompt;
import org.agentflan.dataprep.util.StableHash;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.SparkSession;
import scala.Tuple2;

/**
 * Builds kind-(b) negatives: a real tool list (the function list of a tool-source system prompt) paired with the
 * first exchange of a general chat, whose answer is plain text, so the model learns that offered tools are not
 * a reason to call one. Negative i takes tool list #index(hash(seed, i)) and chat #index(hash(seed, i)) of the
 * pools of distinct tool lists and distinct exchanges sorted by content hash; pools are indexed by sort + zipWithIndex, so the result ignores partitioning and
 * input order. Returns only the negatives; the caller unions them with the corpus.
 */
public final class NegativeSampler implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Where ToolBench/ToolLLaMA system prompts start their function list (end of {@link ReActPrompt#FUNCTIONS_HEADER}). */
    static final String FUNCTION_LIST_MARKER = "following APIs: ";

    private final NegativeSamplerConfig config;
    private final long seed;

    public NegativeSampler(NegativeSamplerConfig config, long seed) {
        this.config = config;
        this.seed = seed;
    }

    public Dataset<Conversation> build(Dataset<Conversation> corpus) {
        SparkSession spark = corpus.sparkSession();
        if (!config.enabled()) {
            return spark.emptyDataset(Encoders.bean(Conversation.class));
        }
        List<String> toolSources = config.toolSources();
        List<String> chatSources = config.chatSources();
        JavaRDD<Conversation> all = corpus.toJavaRDD();
        JavaRDD<Conversation> toolConversations = all.filter(c -> toolSources.contains(c.getSource()));
        JavaRDD<String> toolLists = toolConversations.map(NegativeSampler::toolList).filter(t -> t != null);
        JavaRDD<Turn[]> chats = all.filter(c -> chatSources.contains(c.getSource()))
                .map(NegativeSampler::firstExchange).filter(e -> e != null);
        long n = config.ratio() > 0 ? Math.round(config.ratio() * toolConversations.count()) : config.count();
        JavaPairRDD<Long, String> tools = indexByHash(toolLists.mapToPair(t -> new Tuple2<>(StableHash.hex(16, t), t)))
                .cache();
        JavaPairRDD<Long, Turn[]> chatPool = indexByHash(chats.mapToPair(e -> new Tuple2<>(
                StableHash.hex(16, e[0].getContent(), e[1].getContent()), e))).cache();
        long toolCount = tools.count();
        long chatCount = chatPool.count();
        if (n == 0 || toolCount == 0 || chatCount == 0) {
            return spark.emptyDataset(Encoders.bean(Conversation.class));
        }
        long s = seed;
        List<Long> picks = new ArrayList<>();
        for (long i = 0; i < n; i++) {
            picks.add(i);
        }
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        JavaRDD<Long> indices = jsc.parallelize(picks);
        JavaPairRDD<Long, Long> byTool = indices.mapToPair(i -> new Tuple2<>(
                Long.remainderUnsigned(StableHash.longHash(s, "negative-tools", i), toolCount), i));
        JavaPairRDD<Long, String> toolOfPick = byTool.join(tools).mapToPair(t -> new Tuple2<>(t._2()._1(), t._2()._2()));
        JavaPairRDD<Long, Turn[]> chatOfPick = indices.mapToPair(i -> new Tuple2<>(
                        Long.remainderUnsigned(StableHash.longHash(s, "negative-chat", i), chatCount), i))
                .join(chatPool).mapToPair(t -> new Tuple2<>(t._2()._1(), t._2()._2()));
        String prompt = config.systemPrompt();
        String source = config.source();
        JavaRDD<Conversation> negatives = toolOfPick.join(chatOfPick).map(t -> {
            String toolList = t._2()._1();
            Turn[] exchange = t._2()._2();
            String id = "negative-b-" + StableHash.hex(12, toolList, exchange[0].getContent(), exchange[1].getContent(), t._1());
            return new Conversation(id, source, List.of(
                    Turn.system(prompt + toolList),
                    Turn.user(exchange[0].getContent()),
                    // Built after tagging: the reply is tagged here, as the plain chat answer it is.
                    new Turn("assistant", exchange[1].getContent(), true, Capability.CHAT.key())));
        });
        return spark.createDataset(negatives.rdd(), Encoders.bean(Conversation.class));
    }

    /** Sorts by the content hash and numbers 0..n-1: a stable index whatever the partitioning. */
    private static <V> JavaPairRDD<Long, V> indexByHash(JavaPairRDD<String, V> byHash) {
        return byHash.reduceByKey((a, b) -> a).sortByKey().zipWithIndex()
                .mapToPair(t -> new Tuple2<>(t._2(), t._1()._2()));
    }

    /** The function list of the first system turn, or null when it names no tools. */
    static String toolList(Conversation c) {
        for (Turn t : c.getTurns()) {
            if (t.getRole().equals("system")) {
                int at = t.getContent().lastIndexOf(FUNCTION_LIST_MARKER);
                if (at < 0) {
                    return null;
                }
                String list = t.getContent().substring(at + FUNCTION_LIST_MARKER.length()).strip();
                return list.isEmpty() ? null : list;
            }
        }
        return null;
    }

    /** The first user turn and the assistant turn that answers it, or null. */
    static Turn[] firstExchange(Conversation c) {
        List<Turn> turns = c.getTurns();
        for (int i = 0; i + 1 < turns.size(); i++) {
            if (turns.get(i).getRole().equals("user") && turns.get(i + 1).getRole().equals("assistant")) {
                return new Turn[] {turns.get(i), turns.get(i + 1)};
            }
        }
        return null;
    }
}
