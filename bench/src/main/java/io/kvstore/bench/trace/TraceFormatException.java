package io.kvstore.bench.trace;

import java.io.IOException;
import java.nio.file.Path;

/** A trace file that does not follow its format; the message names the file, line and problem. */
public final class TraceFormatException extends IOException {

  private static final long serialVersionUID = 1L;

  private final transient Path file;
  private final long line;

  /** A problem with line {@code line} (1-based) of {@code file}. */
  public TraceFormatException(Path file, long line, String problem) {
    this(file, line, problem, null);
  }

  /** A problem with line {@code line} (1-based) of {@code file}, caused by {@code cause}. */
  public TraceFormatException(Path file, long line, String problem, Throwable cause) {
    super(file + ":" + line + ": " + problem, cause);
    this.file = file;
    this.line = line;
  }

  /** The trace file. */
  public Path file() {
    return file;
  }

  /** The 1-based line number of the problem. */
  public long line() {
    return line;
  }
}
