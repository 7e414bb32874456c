package io.kvstore.core.store;

import io.kvstore.core.tier.EvictionListener;
import io.kvstore.core.tier.PinnedPage;
import io.kvstore.core.tier.Tier;
import io.kvstore.core.tier.TierKind;
import io.kvstore.core.tier.TierWriteException;
import java.nio.ByteBuffer;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A fault injector around a real tier (the SSD tier in these tests): writes can fail with a {@link
 * TierWriteException} of a chosen reason, reads can fail with an I/O error, and writes can stall
 * until released. Everything else is passed through. {@link #resumeWrites()} says yes only once
 * the write fault is cleared, like a disk tier whose space came back.
 */
final class FaultyTier implements Tier {

  private final Tier inner;
  private volatile TierWriteException.Reason writeFault;
  private volatile boolean readFault;
  /** Whether {@link #probeWrite} fails although {@link #resumeWrites} says yes (too hopeful). */
  private volatile boolean probeFault;
  private volatile CountDownLatch stall;
  /** Whether a stalled write also ignores interrupts (a thread stuck in the kernel). */
  private volatile boolean stallDeaf;
  final AtomicLong puts = new AtomicLong();
  final AtomicLong failedPuts = new AtomicLong();
  final AtomicLong resumeCalls = new AtomicLong();
  final AtomicLong probes = new AtomicLong();
  final AtomicInteger stalledNow = new AtomicInteger();
  /** Calls of {@link #pin} (a page pinned, or looked for to pin). */
  final AtomicLong pins = new AtomicLong();

  FaultyTier(Tier inner) {
    this.inner = inner;
  }

  /** Every later put throws a {@link TierWriteException} with this reason (null: none). */
  void failWrites(TierWriteException.Reason reason) {
    writeFault = reason;
  }

  /** Every later probe write fails with an I/O error, whatever {@link #resumeWrites} says. */
  void failProbes(boolean fail) {
    probeFault = fail;
  }

  /** Every later get throws an I/O error. */
  void failReads(boolean fail) {
    readFault = fail;
  }

  /** Later puts block until {@link #releaseStall()}. */
  void stallWrites() {
    stall = new CountDownLatch(1);
  }

  /** As {@link #stallWrites()}, and a stalled write ignores interrupts until released. */
  void stallWritesIgnoringInterrupts() {
    stallDeaf = true;
    stallWrites();
  }

  void releaseStall() {
    CountDownLatch s = stall;
    stall = null;
    if (s != null) {
      s.countDown();
    }
  }

  /** Waits while a stall is set (a write that hangs on a stalled disk), at most a minute. */
  private void stallIfAsked() {
    CountDownLatch s = stall;
    if (s != null) {
      stalledNow.incrementAndGet();
      boolean interrupted = false;
      try {
        while (true) {
          try {
            if (!s.await(60, TimeUnit.SECONDS)) {
              throw new AssertionError("a stalled write was never released");
            }
            break;
          } catch (InterruptedException e) {
            interrupted = true;
            if (!stallDeaf) {
              break;
            }
          }
        }
      } finally {
        if (interrupted) {
          Thread.currentThread().interrupt();
        }
        stalledNow.decrementAndGet();
      }
    }
  }

  @Override
  public boolean put(ByteBuffer src) {
    puts.incrementAndGet();
    stallIfAsked();
    TierWriteException.Reason r = writeFault;
    if (r != null) {
      failedPuts.incrementAndGet();
      throw new TierWriteException(r, "injected " + r + " while writing a page");
    }
    return inner.put(src);
  }

  /**
   * Faults as {@link #put} (stall, then the write fault for the whole batch); otherwise the inner
   * tier writes the batch its own way (the SSD tier: together), so store tests run that path.
   */
  @Override
  public void putAll(ByteBuffer[] pages, int count, boolean[] stored) {
    puts.addAndGet(count);
    stallIfAsked();
    TierWriteException.Reason r = writeFault;
    if (r != null) {
      failedPuts.addAndGet(count);
      java.util.Arrays.fill(stored, 0, count, false);
      throw new TierWriteException(r, "injected " + r + " while writing " + count + " pages");
    }
    inner.putAll(pages, count, stored);
  }

  /** The tier this one wraps. */
  Tier inner() {
    return inner;
  }

  @Override
  public boolean resumeWrites() {
    resumeCalls.incrementAndGet();
    return writeFault == null;
  }

  @Override
  public void probeWrite() {
    probes.incrementAndGet();
    TierWriteException.Reason fault = writeFault;
    if (fault != null || probeFault) {
      throw new TierWriteException(fault != null ? fault : TierWriteException.Reason.IO_ERROR,
          "injected probe-write failure");
    }
    inner.probeWrite();
  }

  @Override
  public int get(long keyHi, long keyLo, ByteBuffer dst) {
    if (readFault && inner.contains(keyHi, keyLo)) {
      throw new TierWriteException(TierWriteException.Reason.IO_ERROR, "injected read error");
    }
    return inner.get(keyHi, keyLo, dst);
  }

  @Override
  public TierKind kind() {
    return inner.kind();
  }

  @Override
  public long capacityBytes() {
    return inner.capacityBytes();
  }

  @Override
  public long usedBytes() {
    return inner.usedBytes();
  }

  @Override
  public long pageCount() {
    return inner.pageCount();
  }

  @Override
  public long memoryBytes() {
    return inner.memoryBytes();
  }

  @Override
  public int maxPageBytes() {
    return inner.maxPageBytes();
  }

  @Override
  public void setEvictionListener(EvictionListener listener) {
    inner.setEvictionListener(listener);
  }

  @Override
  public PinnedPage pin(long keyHi, long keyLo) {
    pins.incrementAndGet();
    return inner.pin(keyHi, keyLo);
  }

  @Override
  public int length(long keyHi, long keyLo) {
    return inner.length(keyHi, keyLo);
  }

  @Override
  public boolean contains(long keyHi, long keyLo) {
    return inner.contains(keyHi, keyLo);
  }

  @Override
  public boolean delete(long keyHi, long keyLo) {
    return inner.delete(keyHi, keyLo);
  }

  @Override
  public boolean deleteExclusive(long keyHi, long keyLo) {
    return inner.deleteExclusive(keyHi, keyLo);
  }

  @Override
  public void close() {
    releaseStall();
    inner.close();
  }
}
