package io.kvstore.server.metrics;

import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetric;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocatorMetric;
import io.netty.util.internal.PlatformDependent;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Netty's memory as metrics, read at scrape time: what its allocators hold and the direct memory
 * Netty counts itself. The daemon's network code allocates from {@link ByteBufAllocator#DEFAULT}
 * (channels and its frame buffer pool; in Netty 4.2 the adaptive allocator unless {@code
 * -Dio.netty.allocator.type} says otherwise), reported as {@code allocator="default"}; Netty's
 * {@link PooledByteBufAllocator#DEFAULT} is reported as {@code allocator="pooled"} with its arenas
 * and caches, once only when it is the default.
 */
final class NettyAllocatorMetrics {

  private NettyAllocatorMetrics() {}

  /**
   * Registers the families {@code netty_allocator_used_bytes}, {@code
   * netty_pooled_allocator_pinned_bytes}, {@code netty_pooled_allocator_arenas}, {@code
   * netty_pooled_allocator_thread_local_caches}, {@code netty_pooled_allocator_chunk_size_bytes}
   * and, where Netty counts its own direct memory, {@code netty_direct_memory_used_bytes} and
   * {@code netty_direct_memory_max_bytes}.
   *
   * @param registry where to register
   */
  static void register(MetricsRegistry registry) {
    register(registry.prometheus(), ByteBufAllocator.DEFAULT, PooledByteBufAllocator.DEFAULT);
  }

  static void register(PrometheusRegistry r, ByteBufAllocator daemon, PooledByteBufAllocator pooled) {
    Map<String, ByteBufAllocatorMetric> allocators = new LinkedHashMap<>();
    if (daemon != pooled && daemon instanceof ByteBufAllocatorMetricProvider provider) {
      allocators.put("default", provider.metric());
    }
    PooledByteBufAllocatorMetric p = pooled.metric();
    allocators.put("pooled", p);

    GaugeWithCallback.builder().name("netty_allocator_used_bytes")
        .help("Bytes Netty's allocator holds from the OS (chunks, whether or not buffers use them),"
            + " by allocator and memory kind.")
        .labelNames("allocator", "memory")
        .callback(cb -> allocators.forEach((name, m) -> {
          cb.call(m.usedDirectMemory(), name, "direct");
          cb.call(m.usedHeapMemory(), name, "heap");
        }))
        .register(r);
    GaugeWithCallback.builder().name("netty_pooled_allocator_pinned_bytes")
        .help("Bytes of the pooled allocator's chunks in use by live buffers, by memory kind.")
        .labelNames("memory")
        .callback(cb -> {
          cb.call(pooled.pinnedDirectMemory(), "direct");
          cb.call(pooled.pinnedHeapMemory(), "heap");
        })
        .register(r);
    GaugeWithCallback.builder().name("netty_pooled_allocator_arenas")
        .help("Arenas of the pooled allocator, by memory kind.")
        .labelNames("memory")
        .callback(cb -> {
          cb.call(p.numDirectArenas(), "direct");
          cb.call(p.numHeapArenas(), "heap");
        })
        .register(r);
    GaugeWithCallback.builder().name("netty_pooled_allocator_thread_local_caches")
        .help("Thread-local caches of the pooled allocator.")
        .callback(cb -> cb.call(p.numThreadLocalCaches()))
        .register(r);
    GaugeWithCallback.builder().name("netty_pooled_allocator_chunk_size_bytes")
        .help("Chunk size of the pooled allocator.")
        .callback(cb -> cb.call(p.chunkSize()))
        .register(r);
    // -1 when Netty leaves direct memory to the JDK's accounting (see jvm_buffer_pool_used_bytes).
    GaugeWithCallback.builder().name("netty_direct_memory_used_bytes")
        .help("Direct memory Netty allocated itself (without the JDK's counting), when it counts it.")
        .callback(cb -> {
          long used = PlatformDependent.usedDirectMemory();
          if (used >= 0) {
            cb.call(used);
          }
        })
        .register(r);
    GaugeWithCallback.builder().name("netty_direct_memory_max_bytes")
        .help("The direct memory limit Netty applies (-XX:MaxDirectMemorySize or"
            + " -Dio.netty.maxDirectMemory).")
        .callback(cb -> cb.call(PlatformDependent.maxDirectMemory()))
        .register(r);
  }
}
