package org.agentflan.dataprep.model;

import java.util.Locale;

/**
 * Why a record or sample was not emitted, by kind: the key of the manifest's {@code rejected_reasons} and the
 * {@code kind} of each line in {@code rejects/}, whose {@code reason} then gives the details (field, offset,
 * token count). A closed set, so that counts group by cause and never by message text.
 */
public enum RejectKind {
    /** Not JSON, or a JSON array that breaks off (the rest of that file cannot be read). */
    MALFORMED_JSON,
    /** Bytes that are not UTF-8. */
    INVALID_UTF8,
    /** A lone surrogate (a {@code \\uD800}-{@code \\uDFFF} escape without its pair): text that is no character. */
    INVALID_UNICODE,
    /** A field missing, of the wrong type, or with a value the format does not define (e.g. an unknown role). */
    BAD_FIELD,
    /** Valid but marked unusable by its own data set (ToolBench {@code valid_data: false}). */
    MARKED_INVALID,
    /** No turns. */
    EMPTY_CONVERSATION,
    /** No turn carries loss: nothing to learn (as read, or after capability_balance masked every loss turn). */
    NO_LOSS_TURN,
    /** A template marker inside a turn's text, which would read as a turn boundary ({@code markers_in_text}). */
    MARKER_IN_TEXT,
    /** More tokens than {@code max_length}, with no shorter prefix allowed or fitting ({@code over_length}). */
    OVER_LENGTH;

    /** The key written to rejects/ and the manifest, e.g. {@code over_length}. */
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }
}
