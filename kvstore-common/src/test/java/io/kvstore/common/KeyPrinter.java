package io.kvstore.common;

import java.util.HexFormat;

/**
 * Prints the namespace digest and the block keys of fixed inputs, one per line; run in a fresh JVM by
 * {@link BlockHasherTest} to show that keys do not depend on the process that computes them.
 */
public final class KeyPrinter {

  private KeyPrinter() {}

  /** Prints {@link #lines()}, one per line. */
  public static void main(String[] args) {
    for (String line : lines()) {
      System.out.println(line);
    }
  }

  /** The digest and keys of fixed inputs, as hex lines. */
  static String[] lines() {
    Namespace ns =
        Namespace.builder()
            .modelId("Qwen/Qwen2.5-72B")
            .dtype("bfloat16")
            .numLayers(80)
            .numKvHeads(1)
            .headDim(128)
            .blockSize(8)
            .tpRank(3)
            .tpWorldSize(8)
            .tenant("tenant-α")
            .build();
    int[] tokens = new int[8 * 5 + 3];
    for (int i = 0; i < tokens.length; i++) {
      tokens[i] = (int) (i * 2654435761L % 151_936); // spread over a real vocabulary's range
    }
    BlockKey[] keys = BlockHasher.keys(ns, tokens);
    String[] lines = new String[keys.length + 1];
    lines[0] = HexFormat.of().formatHex(ns.digest());
    for (int i = 0; i < keys.length; i++) {
      lines[i + 1] = keys[i].toHex();
    }
    return lines;
  }
}
