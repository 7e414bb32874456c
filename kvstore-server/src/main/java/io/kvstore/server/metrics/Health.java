package io.kvstore.server.metrics;

import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import java.time.Instant;

/**
 * What the daemon's health endpoints say: liveness, readiness and the store's degraded state.
 *
 * <ul>
 *   <li><b>live</b>: the process answers HTTP; nothing else is checked (a restart would not help
 *       with anything else).
 *   <li><b>ready</b>: the protocol server listens and the daemon has not begun to stop; set by
 *       the daemon with {@link #ready(boolean)}.
 *   <li><b>degraded</b>: ready, but the SSD tier does not take writes ({@link HealthProbe}). A
 *       degraded daemon still serves (memory tiers, SSD reads), so readiness stays true: sending
 *       its engines elsewhere would turn every hit into a recomputation. The body and the gauge
 *       {@code kvstore_ssd_degraded} say so, for alerts and people.
 * </ul>
 */
public final class Health {

  private final HealthProbe probe;
  private volatile boolean ready;
  private volatile boolean stopping;

  /**
   * Makes the health state of one daemon, not ready yet.
   *
   * @param probe reads the store's degraded state; cheap and non-blocking
   */
  public Health(HealthProbe probe) {
    this.probe = probe;
  }

  /**
   * Registers {@code kvstore_ssd_degraded} (1 while the SSD tier is degraded, else 0).
   *
   * @param registry where to register
   */
  public void register(MetricsRegistry registry) {
    GaugeWithCallback.builder().name("kvstore_ssd_degraded")
        .help("1 while the SSD tier is degraded (not taking writes; still serving), else 0.")
        .callback(cb -> cb.call(probe.status().ssdDegraded() ? 1 : 0))
        .register(registry.prometheus());
  }

  /**
   * Sets whether the daemon serves: true once the protocol server listens, false once it begins
   * to stop (and never true again after that).
   *
   * @param isReady whether the daemon serves
   */
  public void ready(boolean isReady) {
    if (!isReady && ready) {
      stopping = true;
    }
    ready = isReady && !stopping;
  }

  /** Whether the daemon serves the protocol now. */
  public boolean isReady() {
    return ready;
  }

  /** The store's condition now. */
  public HealthProbe.Status status() {
    return probe.status();
  }

  /**
   * The readiness answer's one-word state: {@code ready}, {@code degraded}, {@code starting} or
   * {@code stopping}.
   */
  String state() {
    return state(probe.status());
  }

  private String state(HealthProbe.Status s) {
    if (ready) {
      return s.ssdDegraded() ? "degraded" : "ready";
    }
    return stopping ? "stopping" : "starting";
  }

  /**
   * The plain-text answer of {@code /health}: {@code ok}, {@code degraded: ssd NO_SPACE since
   * ...} or {@code not ready}, one line.
   */
  String text() {
    HealthProbe.Status s = probe.status();
    if (!ready) {
      return "not ready\n";
    }
    return s.ssdDegraded() ? "degraded: ssd " + describe(s) + "\n" : "ok\n";
  }

  private static String describe(HealthProbe.Status s) {
    return s.reason() + " since " + Instant.ofEpochMilli(s.sinceMillis());
  }

  /**
   * The readiness answer as JSON, e.g. {@code {"status":"degraded","ssd":"NO_SPACE since
   * 2026-12-01T21:00:00Z"}}.
   */
  String json() {
    HealthProbe.Status s = probe.status();
    String ssd = s.ssdDegraded() ? describe(s) : "ok";
    return "{\"status\":\"" + state(s) + "\",\"ssd\":\"" + jsonEscape(ssd) + "\"}\n";
  }

  private static String jsonEscape(String s) {
    StringBuilder sb = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') {
        sb.append('\\').append(c);
      } else if (c < 0x20) {
        sb.append(String.format("\\u%04x", (int) c));
      } else {
        sb.append(c);
      }
    }
    return sb.toString();
  }
}
