package org.agentflan.dataprep.tokenize;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.xxhash64;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.ArrayList;
import java.util.List;
import org.agentflan.dataprep.SparkTestSession;
import org.agentflan.dataprep.model.Turn;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

class TokenizeStageTest {

    @Test
    void sortHashIsSparksXxhash64OfSeedSourceAndId() {
        SparkSession spark = SparkTestSession.start("TokenizeStageTest");
        List<Row> rows = new ArrayList<>();
        String[][] keys = {{"release", "r1"}, {"toolbench", "G1_12345#copy2"}, {"sharegpt", "ümlaut 中文 \uD83E\uDDEC"},
                {"", ""}, {"a", "b".repeat(300)}};
        for (long seed : new long[] {0, 42, -7, Long.MAX_VALUE}) {
            for (String[] k : keys) {
                rows.add(RowFactory.create(seed, k[0], k[1]));
            }
        }
        StructType schema = new StructType().add("seed", DataTypes.LongType).add("source", DataTypes.StringType)
                .add("id", DataTypes.StringType);
        List<Row> hashed = spark.createDataFrame(rows, schema)
                .select(col("seed"), col("source"), col("id"), xxhash64(col("seed"), col("source"), col("id")))
                .collectAsList();
        assertEquals(rows.size(), hashed.size());
        for (Row r : hashed) {
            assertEquals(r.getLong(3), TokenizeStage.sortHash(r.getLong(0), r.getString(1), r.getString(2)),
                    () -> "sort hash of " + r);
        }
        // lit(seed) as the stage once wrote it is the same long column.
        long viaLit = spark.createDataFrame(rows.subList(0, 1), schema)
                .select(xxhash64(lit(0L), col("source"), col("id"))).first().getLong(0);
        assertEquals(viaLit, TokenizeStage.sortHash(0L, "release", "r1"));
    }

    @Test
    void contentHashSeesEveryField() {
        List<Turn> base = List.of(Turn.user("hi"), Turn.assistant("hello"));
        long h = TokenizeStage.contentHash(base);
        assertEquals(h, TokenizeStage.contentHash(List.of(Turn.user("hi"), Turn.assistant("hello"))));
        assertNotEquals(h, TokenizeStage.contentHash(List.of(Turn.user("hi"), Turn.assistant("hello!"))));
        assertNotEquals(h, TokenizeStage.contentHash(List.of(Turn.user("hi"), new Turn("assistant", "hello", false, null))));
        assertNotEquals(h, TokenizeStage.contentHash(List.of(Turn.user("hi"), new Turn("assistant", "hello", true, "chat"))));
        assertNotEquals(h, TokenizeStage.contentHash(List.of(Turn.assistant("hi"), Turn.assistant("hello"))));
    }
}
