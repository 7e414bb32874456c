package io.kvstore.bench.replay;

/** The requests of a workload, in arrival order; read by one thread (the run's dispatcher). */
public interface RequestSource {

  /** The next request, or {@code null} when there are no more. */
  Request next();

  /** How many requests there are, or -1 if the source does not end by itself. */
  long size();

  /** What the workload is, for reports. */
  String describe();
}
