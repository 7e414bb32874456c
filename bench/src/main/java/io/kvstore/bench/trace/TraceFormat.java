package io.kvstore.bench.trace;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A trace file format. Each format knows its block size and time unit and maps a file to a {@link
 * Trace}; {@link TraceFormats} lists the known ones by name.
 */
public interface TraceFormat {

  /** The format's name on the command line (e.g. {@code "mooncake"}). */
  String name();

  /** Tokens per block in traces of this format. */
  int blockTokens();

  /**
   * Reads a whole trace file ({@code .gz} files are decompressed).
   *
   * @throws TraceFormatException if a line is malformed (the message names the file and line)
   * @throws IOException if the file cannot be read
   */
  Trace read(Path file) throws IOException;
}
