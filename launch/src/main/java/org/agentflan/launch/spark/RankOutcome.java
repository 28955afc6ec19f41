package org.agentflan.launch.spark;

import java.io.Serializable;
import java.util.List;

/**
 * What one barrier task sends back to the driver: which rank ran where, its {@code agentflan train} exit status (one
 * of those every rank reaches together; any other fails the task), and the last lines it printed, which end with
 * train's own summary ("run DIR: completed at step 40/40", "preempted (signal_term): ...").
 */
record RankOutcome(int rank, String host, int status, List<String> lastLines) implements Serializable {}
