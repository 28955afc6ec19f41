package org.agentflan.dataprep.source;

/** One record as read: its source, file (relative to the source path), locator (see Reject#line) and text. */
record RawRecord(String source, String file, long line, String text) {}
