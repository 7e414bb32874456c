package io.kvstore.server.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class NettyAllocatorMetricsTest {

  @Test
  void shouldReportWhatThePooledAllocatorHoldsAtEachScrape() {
    // A private pooled allocator, so other tests' buffers do not move the numbers.
    PooledByteBufAllocator pooled = new PooledByteBufAllocator(true, 1, 1, 8192, 9, 0, 0, false);
    MetricsRegistry registry = new MetricsRegistry();
    NettyAllocatorMetrics.register(registry.prometheus(), UnpooledByteBufAllocator.DEFAULT, pooled);

    String before = registry.scrape();
    assertEquals(0, value(before, "netty_allocator_used_bytes{allocator=\"pooled\",memory=\"direct\"}"));
    assertEquals(0, value(before, "netty_pooled_allocator_pinned_bytes{memory=\"direct\"}"));
    assertEquals(1, value(before, "netty_pooled_allocator_arenas{memory=\"direct\"}"));
    assertEquals(1, value(before, "netty_pooled_allocator_arenas{memory=\"heap\"}"));
    assertEquals(8192L << 9, value(before, "netty_pooled_allocator_chunk_size_bytes"));
    assertTrue(value(before, "netty_direct_memory_max_bytes") > 0, before);
    // The unpooled default allocator reports its own usage under allocator="default".
    assertTrue(before.contains("netty_allocator_used_bytes{allocator=\"default\",memory=\"heap\"} "), before);

    ByteBuf buf = pooled.directBuffer(100_000);
    try {
      String during = registry.scrape();
      assertEquals(8192L << 9, value(during, "netty_allocator_used_bytes{allocator=\"pooled\",memory=\"direct\"}"));
      assertTrue(value(during, "netty_pooled_allocator_pinned_bytes{memory=\"direct\"}") >= 100_000, during);
    } finally {
      buf.release();
    }
    assertEquals(0, value(registry.scrape(), "netty_pooled_allocator_pinned_bytes{memory=\"direct\"}"));
  }

  @Test
  void shouldReportThePooledAllocatorOnceWhenItIsTheDefault() {
    PooledByteBufAllocator pooled = new PooledByteBufAllocator(true, 1, 1, 8192, 9, 0, 0, false);
    MetricsRegistry registry = new MetricsRegistry();
    NettyAllocatorMetrics.register(registry.prometheus(), pooled, pooled);
    String text = registry.scrape();
    assertTrue(!text.contains("allocator=\"default\""), text);
    assertTrue(text.contains("allocator=\"pooled\""), text);
  }

  private static long value(String text, String sample) {
    Matcher m = Pattern.compile("^" + Pattern.quote(sample) + " (\\S+)$", Pattern.MULTILINE).matcher(text);
    assertTrue(m.find(), "no sample " + sample + " in\n" + text);
    return Long.parseLong(m.group(1));
  }
}
