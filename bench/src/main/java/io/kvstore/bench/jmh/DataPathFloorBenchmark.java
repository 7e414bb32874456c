package io.kvstore.bench.jmh;

import io.kvstore.common.PageFormat;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The least work any same-host data path must do per page, each beside {@code memcpy} in one run:
 * how close to {@code kvbench compare}'s {@code memcpy} baseline a GET or PUT through shared memory
 * could come even if it moved no byte more than it must.
 *
 * <ul>
 *   <li>{@code memcpy}: one page copied between the same two direct buffers again and again, as
 *       {@code kvbench compare}'s {@code memcpy} target does: source and destination stay in the
 *       CPU's caches.
 *   <li>{@code memcpyWorkingSet}: one page copied from the next slot of a working set into the next
 *       slot of another ({@code compare}'s {@code memcpy-ws}): what one copy of a store's pages
 *       costs, its pages spread over memory that is not in cache.
 *   <li>{@code verifyWorkingSet}: {@link PageFormat#verify} (header, length, payload CRC32C) of the
 *       next page of the working set, in place, copying nothing: the check the SDK makes of every
 *       page it gets (spec/4 §4.3.1), and so the whole cost of a GET that lent the client the
 *       store's own memory with zero copies and no round trip.
 *   <li>{@code memcpyThenVerify}: {@code memcpy}, then {@link PageFormat#verify} of the copy, as
 *       {@code kvbench compare}'s {@code memcpy} target is measured (every fetched page is verified
 *       inside the throughput window, for every target).
 *   <li>{@code verifyWorkingSetTwice}: the next page of the working set verified in place twice,
 *       copying nothing: a GET through shared memory that lent the store's own memory, measured
 *       as {@code compare} measures it (the SDK's check, then {@code compare}'s verification), with
 *       no round trip and no bookkeeping. Its ratio to {@code memcpyThenVerify} is the most any
 *       same-host GET can reach of {@code compare}'s {@code memcpy} on this host.
 *   <li>{@code copyIntoWorkingSet}: one page copied from a buffer that stays in cache (the page the
 *       client just wrote into its region) into the next slot of the working set (tier memory),
 *       then its payload CRC32C computed from that slot: the least a PUT must do, since the daemon
 *       may check only its own copy (spec/4 §4.4).
 * </ul>
 *
 * <p>The working set is {@code workingSetBytes} (256 MiB, as {@code compare}'s) of pages, each a
 * well-formed page, walked in order. Run: {@code bin/jmh DataPathFloorBenchmark}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xmx1g", "-XX:MaxDirectMemorySize=2g"})
public class DataPathFloorBenchmark {

  @Param({"65536", "2097152"})
  public int payloadBytes;

  @Param({"268435456"})
  public long workingSetBytes;

  private int pageLength;
  private int slots;
  private ByteBuffer source;
  private ByteBuffer destination;
  private ByteBuffer[] workingSet;
  private ByteBuffer[] workingSetCopy;
  private int next;

  @Setup
  public void setUp() {
    pageLength = PageFormat.pageLength(payloadBytes);
    slots = (int) Math.max(2, workingSetBytes / pageLength);
    source = Pages.page(7, 0, payloadBytes, 11);
    destination = ByteBuffer.allocateDirect(pageLength);
    destination.put(0, source, 0, pageLength);
    workingSet = new ByteBuffer[slots];
    workingSetCopy = new ByteBuffer[slots];
    for (int i = 0; i < slots; i++) {
      ByteBuffer page = ByteBuffer.allocateDirect(pageLength);
      page.put(0, source, 0, pageLength);
      PageFormat.writeHeader(
          page, 0, 7, i, 0, 0, 42L, 512, payloadBytes, PageFormat.payloadCrc(source, 0));
      workingSet[i] = page;
      workingSetCopy[i] = ByteBuffer.allocateDirect(pageLength);
    }
    for (ByteBuffer page : workingSet) {
      if (PageFormat.verify(page, 0, pageLength) != PageFormat.OK) {
        throw new IllegalStateException("the benchmark's page does not verify");
      }
    }
  }

  private int nextSlot() {
    int i = next;
    next = i + 1 == slots ? 0 : i + 1;
    return i;
  }

  @Benchmark
  public int memcpy() {
    destination.put(0, source, 0, pageLength);
    return destination.get(pageLength - 1);
  }

  @Benchmark
  public int memcpyWorkingSet() {
    int i = nextSlot();
    workingSetCopy[i].put(0, workingSet[i], 0, pageLength);
    return workingSetCopy[i].get(pageLength - 1);
  }

  @Benchmark
  public int verifyWorkingSet() {
    return check(workingSet[nextSlot()]);
  }

  @Benchmark
  public int memcpyThenVerify() {
    destination.put(0, source, 0, pageLength);
    return check(destination);
  }

  @Benchmark
  public int verifyWorkingSetTwice() {
    ByteBuffer page = workingSet[nextSlot()];
    check(page);
    return check(page);
  }

  private static int check(ByteBuffer page) {
    int code = PageFormat.verify(page, 0, page.capacity());
    if (code != PageFormat.OK) {
      throw new IllegalStateException(PageFormat.describe(code));
    }
    return code;
  }

  @Benchmark
  public int copyIntoWorkingSet() {
    ByteBuffer slot = workingSetCopy[nextSlot()];
    slot.put(0, source, 0, pageLength);
    return PageFormat.crc32c(slot, PageFormat.HEADER_LENGTH, payloadBytes);
  }
}
