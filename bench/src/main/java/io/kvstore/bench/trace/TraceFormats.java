package io.kvstore.bench.trace;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** The known trace formats, by name. */
public final class TraceFormats {

  /**
   * Mooncake FAST'25 traces (kvcache-ai/Mooncake {@code FAST25-release/traces}): {@code timestamp}
   * in milliseconds, 512-token blocks, {@code len(hash_ids) == ceil(input_length / 512)}.
   */
  public static final TraceFormat MOONCAKE = new JsonLinesTraceFormat("mooncake", 512, 1_000L, true);

  /**
   * Alibaba Qwen-Bailian usage traces ({@code qwen_*_blksz_16.jsonl}): {@code timestamp} in
   * seconds (fractional), 16-token blocks; extra fields ({@code chat_id}, {@code parent_chat_id},
   * {@code turn}, {@code type}) are ignored.
   */
  public static final TraceFormat BAILIAN = new JsonLinesTraceFormat("bailian", 16, 1_000_000L, false);

  private static final Map<String, TraceFormat> BY_NAME = new TreeMap<>();

  static {
    BY_NAME.put(MOONCAKE.name(), MOONCAKE);
    BY_NAME.put(BAILIAN.name(), BAILIAN);
  }

  private TraceFormats() {}

  /** The known format names, sorted. */
  public static List<String> names() {
    return List.copyOf(BY_NAME.keySet());
  }

  /**
   * The format named {@code name}.
   *
   * @throws IllegalArgumentException if there is none (the message lists the known names)
   */
  public static TraceFormat byName(String name) {
    TraceFormat format = name == null ? null : BY_NAME.get(name);
    if (format == null) {
      throw new IllegalArgumentException(
          "unknown trace format '" + name + "'; known formats: " + String.join(", ", names()));
    }
    return format;
  }
}
