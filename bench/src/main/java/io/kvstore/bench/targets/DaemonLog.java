package io.kvstore.bench.targets;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Learning a forked daemon's protocol port from its own log. A daemon started on port 0 binds a
 * free port itself and logs it; a port found free beforehand and handed to the daemon can be taken
 * by another process while the daemon opens its store (seconds after a crash), and the tool would
 * then talk to that other server (seen in {@code kvbench crashtest} with tests running beside it).
 */
public final class DaemonLog {

  /** The launcher's (bin/kvstore-server's) variable for extra JVM options. */
  public static final String JAVA_OPTS_ENV = "KVSTORE_JAVA_OPTS";
  /** Keeps the daemon's "serving the kvstore protocol on" line at any configured log level. */
  public static final String LOG_SERVING_LINE =
      "-Dorg.slf4j.simpleLogger.log.io.kvstore.server.KvStoreDaemon=info";

  private static final Pattern SERVING =
      Pattern.compile("serving the kvstore protocol on [^\\s]*:(\\d+)");

  private DaemonLog() {}

  /** Adds {@link #LOG_SERVING_LINE} to the launcher's JVM options in a child's environment. */
  public static void keepServingLine(Map<String, String> environment) {
    String opts = environment.getOrDefault(JAVA_OPTS_ENV, "");
    environment.put(JAVA_OPTS_ENV, (opts + " " + LOG_SERVING_LINE).trim());
  }

  /**
   * The port in the first "serving the kvstore protocol on host:port" line of {@code log} from byte
   * {@code from} on (the output of one daemon's life, when several append to one file), or -1 if
   * there is none yet.
   */
  public static int servingPort(Path log, long from) throws IOException {
    Matcher m = SERVING.matcher(ownOutput(log, from));
    return m.find() ? Integer.parseInt(m.group(1)) : -1;
  }

  /**
   * The text of {@code log} from byte {@code from} on (one daemon's own output, when several append
   * to one file); empty if the log does not exist or ends before it.
   */
  public static String ownOutput(Path log, long from) throws IOException {
    if (!Files.exists(log)) {
      return "";
    }
    byte[] all = Files.readAllBytes(log);
    int start = (int) Math.min(from, all.length);
    return new String(all, start, all.length - start, StandardCharsets.UTF_8);
  }
}
