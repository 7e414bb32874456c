package io.kvstore.bench.replay;

/**
 * How a workload is run.
 *
 * @param command {@code replay} or {@code load}, for the report
 * @param label what distinguishes this run in a sweep, or ""
 * @param readers workers that look up and fetch each request's prefix, then store what missed (an
 *     engine's prefill)
 * @param writers workers that store every block of their requests without looking up (a prefill
 *     node writing for others to read)
 * @param batch most keys or pages per call
 * @param payloadBytes payload bytes per page
 * @param namespaceId namespace id written in the pages
 * @param timeScale arrival times are multiplied by it (1 = as recorded, 0.5 = twice as fast); 0 runs
 *     as fast as the workers go
 * @param durationNanos stop dispatching after this long (0: when the source ends)
 * @param prefillTokensPerS the TTFT model's prefill rate
 * @param timelineBinNanos width of a throughput timeline bin
 * @param stopOnFailure end the run at the first failed call (else count it and go on)
 */
public record RunConfig(
    String command,
    String label,
    int readers,
    int writers,
    int batch,
    int payloadBytes,
    long namespaceId,
    double timeScale,
    long durationNanos,
    double prefillTokensPerS,
    long timelineBinNanos,
    boolean stopOnFailure) {

  /** Checks the ranges; the messages name the command-line options. */
  public RunConfig {
    if (readers < 0 || writers < 0 || readers + writers < 1 || readers + writers > 1024) {
      throw new IllegalArgumentException(
          "need 1 to 1024 workers in all, got readers=" + readers + " writers=" + writers);
    }
    if (batch < 1 || batch > 65_536) {
      throw new IllegalArgumentException("--batch must be in [1, 65536], got " + batch);
    }
    if (!(timeScale >= 0) || Double.isInfinite(timeScale)) {
      throw new IllegalArgumentException("--time-scale must be >= 0, got " + timeScale);
    }
    if (durationNanos < 0) {
      throw new IllegalArgumentException("--duration must be >= 0");
    }
    if (timelineBinNanos <= 0) {
      throw new IllegalArgumentException("timeline bin must be > 0");
    }
  }

  /** Readers plus writers. */
  public int workers() {
    return readers + writers;
  }
}
