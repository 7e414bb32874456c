package io.kvstore.server.docker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.client.KvStoreClient;
import io.kvstore.common.Namespace;
import io.kvstore.common.PageFormat;
import java.nio.ByteBuffer;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The daemon in its container, reached only as an engine and an operator reach it: the SDK through
 * the published protocol port, Prometheus and the health check through the metrics port, the data
 * on a named volume that outlives the container, and {@code docker stop}. Slow: every container
 * opens a RocksDB store and a Chronicle Map index (10-20 s each on a busy 2-core machine), and
 * this class starts three.
 */
@Tag("slow")
@ExtendWith(DockerEngineExtension.class)
class KvStoreDaemonIT {

  private static final Namespace NAMESPACE = Namespace.builder()
      .modelId("kvstore-docker-it").dtype("bfloat16")
      .numLayers(2).numKvHeads(2).headDim(64).blockSize(16)
      .build();
  private static final int BLOCKS = 24;
  private static final int PAYLOAD_BYTES = 24 << 10;
  private static final int PAGE_BYTES = PageFormat.HEADER_LENGTH + PAYLOAD_BYTES;

  @Test
  void shouldServeTheSdkAndAnswerMetricsAndHealthThroughThePublishedPorts() throws Exception {
    Prompt prompt = new Prompt(1);
    try (DockerVolume volume = DockerVolume.create();
        KvStoreContainer kvstore = new KvStoreContainer(volume).withTiers("16MiB", "64MiB", "256MiB")) {
      kvstore.start();
      assertEquals("healthy", kvstore.healthStatus());

      try (KvStoreClient client = kvstore.client(NAMESPACE)) {
        assertEquals(0, client.lookupTokens(prompt.tokens), "a fresh volume holds nothing");
        assertEquals(BLOCKS, client.store(prompt.tokens, 0, prompt.payloads()));
        assertEquals(BLOCKS * NAMESPACE.blockSize(), client.lookupTokens(prompt.tokens));
        byte[][] pages = fetchAll(client, prompt);
        for (int i = 0; i < BLOCKS; i++) {
          assertArrayEquals(prompt.payload(i), payloadOf(pages[i]), "block " + i);
        }
      }

      KvStoreContainer.HttpAnswer health = kvstore.httpGet("/health");
      assertEquals(200, health.status());
      assertEquals("ok", health.body().strip());
      KvStoreContainer.HttpAnswer metrics = kvstore.httpGet("/metrics");
      assertEquals(200, metrics.status());
      assertEquals(BLOCKS, metric(metrics.body(), "kvstore_puts_total"), metrics.body());
      assertEquals(BLOCKS, metric(metrics.body(), "kvstore_gets_total"), metrics.body());
      assertEquals(0, metric(metrics.body(), "kvstore_misses_total"), metrics.body());
    }
  }

  @Test
  void shouldServeTheSsdTiersPagesByteForByteAfterARestartOnTheSameVolume() throws Exception {
    Prompt prompt = new Prompt(2);
    try (DockerVolume volume = DockerVolume.create()) {
      byte[][] stored;
      // No memory tiers: every acknowledged page is on the SSD tier, none only in memory.
      try (KvStoreContainer first = new KvStoreContainer(volume).withTiers("0", "0", "256MiB")) {
        first.start();
        try (KvStoreClient client = first.client(NAMESPACE)) {
          assertEquals(BLOCKS, client.store(prompt.tokens, 0, prompt.payloads()));
          stored = fetchAll(client, prompt);
        }
        for (int i = 0; i < BLOCKS; i++) {
          assertArrayEquals(prompt.payload(i), payloadOf(stored[i]), "block " + i);
        }
        assertStoppedCleanly(first.sigterm());
      }

      try (KvStoreContainer second = new KvStoreContainer(volume).withTiers("0", "0", "256MiB")) {
        second.start();
        // The restarted daemon knows its SSD contents at once, from the index on the volume.
        String metrics = second.httpGet("/metrics").body();
        assertEquals(BLOCKS, metric(metrics, "kvstore_tier_pages{tier=\"ssd\"}"), metrics);
        try (KvStoreClient client = second.client(NAMESPACE)) {
          assertEquals(BLOCKS * NAMESPACE.blockSize(), client.lookupTokens(prompt.tokens));
          byte[][] fetched = fetchAll(client, prompt);
          for (int i = 0; i < BLOCKS; i++) {
            assertArrayEquals(stored[i], fetched[i], "page of block " + i + " after the restart");
          }
        }
        assertStoppedCleanly(second.sigterm());
      }
    }
  }

  /** SIGTERM ended the JVM (143 = 128 + 15) after every step of the graceful stop, none failing. */
  private static void assertStoppedCleanly(ContainerExit exit) {
    String log = exit.output();
    assertEquals(143, exit.code(), log);
    assertTrue(log.contains("network server stopped"), log);
    assertTrue(log.contains("store closed"), log);
    assertTrue(log.lines().anyMatch(l -> l.endsWith("KvStoreDaemon - stopped")), log);
    assertTrue(log.lines().noneMatch(l -> l.contains(" ERROR ")), log);
  }

  private static byte[][] fetchAll(KvStoreClient client, Prompt prompt) {
    ByteBuffer[] dsts = new ByteBuffer[BLOCKS];
    for (int i = 0; i < BLOCKS; i++) {
      dsts[i] = ByteBuffer.allocateDirect(PAGE_BYTES);
    }
    assertEquals(BLOCKS * NAMESPACE.blockSize(), client.fetch(prompt.tokens, dsts));
    byte[][] pages = new byte[BLOCKS][PAGE_BYTES];
    for (int i = 0; i < BLOCKS; i++) {
      dsts[i].get(0, pages[i]);
    }
    return pages;
  }

  private static byte[] payloadOf(byte[] page) {
    byte[] payload = new byte[page.length - PageFormat.HEADER_LENGTH];
    System.arraycopy(page, PageFormat.HEADER_LENGTH, payload, 0, payload.length);
    return payload;
  }

  /** The value of an unlabelled (or fully labelled) sample in Prometheus text. */
  private static long metric(String text, String sample) {
    Matcher m = Pattern.compile("^" + Pattern.quote(sample) + " (\\S+)$", Pattern.MULTILINE).matcher(text);
    assertTrue(m.find(), "no sample " + sample);
    return (long) Double.parseDouble(m.group(1));
  }

  /** A prompt of {@link #BLOCKS} full blocks and a random KV payload per block, from a seed. */
  private static final class Prompt {
    final int[] tokens;
    private final byte[][] payloads;

    Prompt(long seed) {
      Random random = new Random(seed);
      tokens = random.ints(BLOCKS * NAMESPACE.blockSize(), 0, 128_000).toArray();
      payloads = new byte[BLOCKS][PAYLOAD_BYTES];
      for (byte[] p : payloads) {
        random.nextBytes(p);
      }
    }

    byte[] payload(int block) {
      return payloads[block];
    }

    /** The payloads as direct buffers, positioned for the SDK's store. */
    ByteBuffer[] payloads() {
      ByteBuffer[] buffers = new ByteBuffer[BLOCKS];
      for (int i = 0; i < BLOCKS; i++) {
        buffers[i] = ByteBuffer.allocateDirect(PAYLOAD_BYTES).put(payloads[i]).flip();
      }
      return buffers;
    }
  }
}
