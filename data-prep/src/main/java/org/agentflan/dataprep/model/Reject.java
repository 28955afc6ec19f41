package org.agentflan.dataprep.model;

import java.io.Serializable;
import java.util.Objects;

/**
 * One input record that could not become a conversation, and why. Every bad record becomes one of these
 * (never silently dropped); the pipeline writes them to {@code <out>/rejects/} and counts them per source.
 *
 * <p>{@code line} locates the record inside {@code file}: for JSONL the 1-based line number; for a JSON-array
 * file the 0-based element index (as in {@code jq '.[i]'}); for a one-document file (ToolBench answer tree)
 * the 0-based {@code train_messages} entry, or -1 when the whole document is rejected. {@code kind} is a
 * {@link RejectKind} key (what counts group by); {@code reason} the details.
 */
public class Reject implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Raw text kept per reject: enough to find and read the record, bounded so a huge bad file stays cheap. */
    public static final int MAX_RECORD_CHARS = 4096;

    private String file;
    private long line;
    private String source;
    private String kind;
    private String reason;
    private String record;

    public Reject() {}

    public Reject(String file, long line, String source, RejectKind kind, String reason, String record) {
        this.file = file;
        this.line = line;
        this.source = source;
        this.kind = kind.key();
        this.reason = reason;
        this.record = truncate(record);
    }

    /** The same reject at another line (a JSONL split's line turned into the file's). */
    public Reject atLine(long newLine) {
        Reject r = new Reject();
        r.file = file;
        r.line = newLine;
        r.source = source;
        r.kind = kind;
        r.reason = reason;
        r.record = record;
        return r;
    }

    private static String truncate(String record) {
        if (record == null || record.length() <= MAX_RECORD_CHARS) {
            return record;
        }
        return record.substring(0, MAX_RECORD_CHARS) + "...[" + (record.length() - MAX_RECORD_CHARS) + " more chars]";
    }

    public String getFile() { return file; }
    public void setFile(String file) { this.file = file; }
    public long getLine() { return line; }
    public void setLine(long line) { this.line = line; }
    public String getSource() { return source; }
    public void setSource(String source) { this.source = source; }
    public String getKind() { return kind; }
    public void setKind(String kind) { this.kind = kind; }
    public String getReason() { return reason; }
    public void setReason(String reason) { this.reason = reason; }
    public String getRecord() { return record; }
    public void setRecord(String record) { this.record = record; }

    @Override
    public boolean equals(Object o) {
        return o instanceof Reject r && line == r.line && Objects.equals(file, r.file) && Objects.equals(source, r.source)
                && Objects.equals(kind, r.kind) && Objects.equals(reason, r.reason) && Objects.equals(record, r.record);
    }

    @Override
    public int hashCode() { return Objects.hash(file, line, source, kind, reason, record); }

    @Override
    public String toString() { return file + ":" + line + " [" + source + "] " + kind + ": " + reason; }
}
