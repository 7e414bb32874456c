package io.kvstore.bench;

import io.kvstore.bench.trace.Trace;
import io.kvstore.bench.trace.TraceFormats;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Path;

/** The traces kept under src/test/resources/traces. */
public final class TestTraces {

  private static Trace mooncake;

  private TestTraces() {}

  /** The Mooncake synthetic trace file (gzipped). */
  public static Path mooncakeFile() {
    try {
      return Path.of(TestTraces.class.getResource("/traces/mooncake-synthetic.jsonl.gz").toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The Mooncake synthetic trace, loaded once per test JVM. */
  public static synchronized Trace mooncake() {
    if (mooncake == null) {
      try {
        mooncake = TraceFormats.MOONCAKE.read(mooncakeFile());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return mooncake;
  }
}
