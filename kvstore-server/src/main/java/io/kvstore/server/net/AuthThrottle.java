package io.kvstore.server.net;

import java.net.InetAddress;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Slows down token guessing: each failed HELLO (AUTH_FAILED, NAMESPACE_DENIED) from a remote
 * address doubles the delay before the daemon answers the next HELLO from that address, from
 * {@link #BASE_DELAY_MILLIS} up to {@link #MAX_DELAY_MILLIS}; an address with no failure for
 * {@link #FORGET_AFTER_NANOS} starts again from zero, and a good HELLO clears it. With the
 * per-address limit on unauthenticated connections this bounds guesses per address to a few per
 * second instead of thousands.
 *
 * <p>The memory is bounded: at most {@link #MAX_ADDRESSES} addresses are remembered, the least
 * recently failing one forgotten first, so a flood from many addresses cannot grow it. Thread-safe
 * (one short lock, no I/O under it).
 */
final class AuthThrottle {

  static final long BASE_DELAY_MILLIS = 100;
  static final long MAX_DELAY_MILLIS = 5_000;
  static final long FORGET_AFTER_NANOS = TimeUnit.MINUTES.toNanos(1);
  static final int MAX_ADDRESSES = 4096;

  /** Failures of one address: count and time of the last. */
  private static final class Failures {
    int count;
    long lastNanos;
  }

  private final LinkedHashMap<InetAddress, Failures> failures =
      new LinkedHashMap<>(64, 0.75f, true) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<InetAddress, Failures> eldest) {
          return size() > MAX_ADDRESSES;
        }
      };

  /** How long to wait before answering a HELLO from {@code address} (0: at once). */
  synchronized long delayMillis(InetAddress address, long nowNanos) {
    Failures f = address == null ? null : failures.get(address);
    if (f == null) {
      return 0;
    }
    if (nowNanos - f.lastNanos > FORGET_AFTER_NANOS) {
      failures.remove(address);
      return 0;
    }
    int shift = Math.min(f.count - 1, 20);
    return Math.min(BASE_DELAY_MILLIS << shift, MAX_DELAY_MILLIS);
  }

  /** Records a failed HELLO from {@code address}. */
  synchronized void failed(InetAddress address, long nowNanos) {
    if (address == null) {
      return;
    }
    Failures f = failures.computeIfAbsent(address, a -> new Failures());
    if (nowNanos - f.lastNanos > FORGET_AFTER_NANOS) {
      f.count = 0;
    }
    f.count++;
    f.lastNanos = nowNanos;
  }

  /** A good HELLO from {@code address}: its failures are forgotten. */
  synchronized void succeeded(InetAddress address) {
    if (address != null) {
      failures.remove(address);
    }
  }

  /** Addresses remembered now. */
  synchronized int addresses() {
    return failures.size();
  }
}
