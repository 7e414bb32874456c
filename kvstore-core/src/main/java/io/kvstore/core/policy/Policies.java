package io.kvstore.core.policy;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * Eviction policies by name, for configuration files and the benchmark CLI.
 *
 * <p>{@link #DEFAULT} is the store's default: chosen on the Mooncake trace with {@code kvbench sim}
 * as the best policy that is never below LRU's hit ratio across the capacity sweep (see
 * {@code bench/README.md} for the table and the command).
 */
public final class Policies {

  /** The name of the store's default eviction policy. */
  public static final String DEFAULT = "adaptive-prefix-lru";

  private static final Map<String, IntFunction<EvictionPolicy>> FACTORIES = new LinkedHashMap<>();

  static {
    FACTORIES.put("lru", LruPolicy::new);
    FACTORIES.put("prefix-lru", PrefixAwareLruPolicy::new);
    FACTORIES.put("w-tinylfu", WindowTinyLfuPolicy::new);
    FACTORIES.put("adaptive-prefix-lru", AdaptivePrefixLruPolicy::new);
  }

  private Policies() {}

  /** The valid policy names, baseline first (lru, prefix-lru, w-tinylfu, adaptive-prefix-lru). */
  public static List<String> names() {
    return List.copyOf(FACTORIES.keySet());
  }

  /**
   * A new policy for ids in {@code [0, capacity)}.
   *
   * @throws IllegalArgumentException for an unknown name (the message lists the valid ones) or a
   *     capacity that is not positive
   */
  public static EvictionPolicy create(String name, int capacity) {
    IntFunction<EvictionPolicy> factory = name == null ? null : FACTORIES.get(name);
    if (factory == null) {
      throw new IllegalArgumentException(
          "unknown eviction policy '" + name + "'; valid names: " + String.join(", ", names()));
    }
    return factory.apply(capacity);
  }
}
