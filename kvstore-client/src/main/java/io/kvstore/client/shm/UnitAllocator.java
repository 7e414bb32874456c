package io.kvstore.client.shm;

/**
 * First-fit allocation of runs of units in one area of a region, over a bitmap: no objects per
 * allocation, O(units / 64) words scanned at worst (16 K units, 256 words, for a 64 MiB area).
 * Not thread-safe: its owner serializes calls (the daemon under the region's lock, the SDK under
 * the region's monitor).
 *
 * <p>Every search starts at unit 0, so the lowest free run is taken and runs just given back are
 * taken again first. *Why not next fit:* a rotating cursor walks the whole area (80 MiB of a
 * 160 MiB region), so each page landed in memory no cache had seen for a while: the daemon's copy
 * paid a miss per cache line to write it and the client another to read it. With leases given back
 * before the next GET (spec/4 §4.3) first fit lands a stream of small pages in the same few
 * cache-warm units, as a socket's buffers are; it also fragments less than next fit (Knuth, TAOCP
 * vol. 1, §2.5), and a PUT batch's runs come out in increasing offset order more often.
 */
public final class UnitAllocator {

  private final long[] used;
  private final int units;
  private int free;

  /** An allocator of {@code units} units, all free. */
  public UnitAllocator(int units) {
    this.units = units;
    this.used = new long[(units + 63) >>> 6];
    this.free = units;
  }

  /** Units in the area. */
  public int units() {
    return units;
  }

  /** Units not allocated. */
  public int freeUnits() {
    return free;
  }

  /** Allocates {@code n} contiguous units; returns the first, or -1 when no run is free. */
  public int allocate(int n) {
    if (n <= 0 || n > free) {
      return -1;
    }
    int start = find(0, units, n);
    if (start < 0) {
      return -1;
    }
    set(start, n, true);
    free -= n;
    return start;
  }

  /** Frees a run allocated by {@link #allocate}. */
  public void free(int start, int n) {
    set(start, n, false);
    free += n;
  }

  /** Whether unit {@code i} is allocated. */
  public boolean isUsed(int i) {
    return (used[i >>> 6] & (1L << i)) != 0;
  }

  private int find(int from, int to, int n) {
    int run = 0;
    int i = from;
    while (i < to) {
      long word = used[i >>> 6];
      if ((i & 63) == 0 && word == -1L) {
        run = 0; // a full word: skip it whole
        i += 64;
        continue;
      }
      if ((i & 63) == 0 && word == 0 && i + 64 <= to) {
        run += 64;
        i += 64;
        if (run >= n) {
          return i - run;
        }
        continue;
      }
      if ((word & (1L << i)) != 0) {
        run = 0;
      } else if (++run == n) {
        return i - n + 1;
      }
      i++;
    }
    return -1;
  }

  private void set(int start, int n, boolean value) {
    for (int i = start; i < start + n; i++) {
      if (value) {
        used[i >>> 6] |= 1L << i;
      } else {
        used[i >>> 6] &= ~(1L << i);
      }
    }
  }
}
