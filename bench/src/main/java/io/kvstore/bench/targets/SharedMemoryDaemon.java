package io.kvstore.bench.targets;

import java.io.IOException;

/**
 * {@code --target daemon-shm}: a {@link DaemonTarget} whose sessions move page bytes through shared
 * memory; owns the TCP target (and so the daemon it may have started) and closes it.
 */
public final class SharedMemoryDaemon implements Target {

  private final DaemonTarget owner;
  private final DaemonTarget shm;

  /** Wraps {@code owner}; closing this closes it. */
  public SharedMemoryDaemon(DaemonTarget owner) throws IOException {
    this.owner = owner;
    try {
      this.shm = owner.withSharedMemory();
    } catch (IOException | RuntimeException e) {
      owner.close();
      throw e;
    }
  }

  @Override
  public String name() {
    return shm.name();
  }

  @Override
  public Session openSession() throws IOException {
    return shm.openSession();
  }

  @Override
  public TierCounters counters() throws IOException {
    return shm.counters();
  }

  @Override
  public void close() {
    try {
      shm.close();
    } finally {
      owner.close();
    }
  }
}
