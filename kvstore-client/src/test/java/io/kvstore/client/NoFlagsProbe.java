package io.kvstore.client;

import java.nio.ByteBuffer;

/**
 * Run in a JVM started without any flags by {@link NoJvmFlagsTest}: connects to the daemon at
 * {@code args[0]}, puts a page and reads it back, and exits 0 only if the bytes match.
 */
public final class NoFlagsProbe {

  private NoFlagsProbe() {}

  /** Entry point: {@code port namespaceId}. */
  public static void main(String[] args) {
    try (KvStoreClient client = KvStoreClient.builder()
        .address("127.0.0.1", Integer.parseInt(args[0]))
        .namespaceId(Long.parseLong(args[1]))
        .connections(1)
        .build()) {
      ByteBuffer page = KvStoreClientTest.page(9, 9, Long.parseLong(args[1]), 4096, 9);
      if (!client.put(new ByteBuffer[] {page}).allStored()) {
        System.exit(2);
      }
      ByteBuffer dst = ByteBuffer.allocateDirect(8192);
      GetResult got = client.get(new long[] {9, 9}, new ByteBuffer[] {dst});
      dst.limit(got.length(0));
      System.out.println("transport=" + client.transport());
      System.exit(dst.equals(page) ? 0 : 3);
    }
  }
}
