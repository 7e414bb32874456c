package io.kvstore.bench.targets;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * One worker's connection to a {@link Target}: used by one thread at a time, closed by it. Keys are
 * {@code (hi, lo)} pairs in a {@code long[]}, key {@code i} at {@code [2i, 2i + 1]}, as in the SDK.
 */
public interface Session extends AutoCloseable {

  /**
   * Looks up and fetches the leading run of keys {@code [0, count)} that the store holds (stopping at
   * the first it does not), as an engine does before prefill. Page {@code i} of the run (header +
   * payload) is written into {@code dsts[i]} from index 0, and {@code dsts[i]}'s position is set to
   * 0 and its limit to the page length. The bytes are not checked here: the caller verifies them.
   *
   * @param dsts at least {@code count} buffers, each large enough for a page
   * @return the length of the run
   */
  int fetchPrefix(long[] keys, int count, ByteBuffer[] dsts) throws IOException;

  /**
   * Stores pages {@code [0, count)}, each between its position and limit; positions and limits are
   * left as they were.
   *
   * @return how many pages the store accepted
   */
  int put(ByteBuffer[] pages, int count) throws IOException;

  /**
   * {@link #fetchPrefix(long[], int, ByteBuffer[])} of blocks {@code [firstBlock, firstBlock +
   * count)} of a request's chain ({@code keys} holds those blocks' keys, {@code chain} all of the
   * request's). A store that places pages by their position in the chain (the cluster target)
   * overrides it; the others ignore the chain.
   */
  default int fetchPrefix(long[] chain, int firstBlock, long[] keys, int count, ByteBuffer[] dsts)
      throws IOException {
    return fetchPrefix(keys, count, dsts);
  }

  /**
   * {@link #put(ByteBuffer[], int)} of pages that are blocks {@code [firstBlock, firstBlock +
   * count)} of a request's chain; see {@link #fetchPrefix(long[], int, long[], int, ByteBuffer[])}.
   */
  default int put(long[] chain, int firstBlock, ByteBuffer[] pages, int count) throws IOException {
    return put(pages, count);
  }

  /**
   * Whether this session can lend fetched pages in place ({@link #fetchPrefixInPlace}) instead of
   * copying them into the caller's buffers, as the SDK's page views do.
   */
  default boolean fetchesInPlace() {
    return false;
  }

  /**
   * {@link #fetchPrefix(long[], int, ByteBuffer[])}, but page {@code i} of the run is lent in place:
   * {@code views[i]} is set to a read-only buffer over it (position 0, limit the page length), valid
   * until {@link #releaseFetched()}, which the caller must call before the next fetch. The bytes are
   * not checked here: the caller verifies them.
   *
   * @param pageLength the length of every page asked for (a working set's pages are all one length):
   *     a store's session learns it from the store and ignores it; the {@code floor} target, which
   *     holds no pages of its own, lends pages of that length
   * @throws UnsupportedOperationException unless {@link #fetchesInPlace()}
   */
  default int fetchPrefixInPlace(long[] keys, int count, ByteBuffer[] views, int pageLength)
      throws IOException {
    throw new UnsupportedOperationException("this session copies fetched pages");
  }

  /** Gives back the pages of the last {@link #fetchPrefixInPlace}; harmless when there are none. */
  default void releaseFetched() {}

  /** Closes the connection. */
  @Override
  void close();
}
