package io.kvstore.core.store;

import io.kvstore.core.index.BlockIndex;
import io.kvstore.core.tier.TestPages;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * What a daemon does when SIGTERM arrives while it opens its store, in a JVM of its own: a shutdown
 * hook that waits for the open, a SIGTERM sent to itself, then the open (with an SSD tier) and the
 * close. Prints {@code opened} and {@code closed}, or {@code failed: <error>}. Arguments: the data
 * directory, and {@code init} to call {@link BlockIndex#initializeShutdownHooks} first (as the
 * daemon does) or {@code no-init}.
 */
public final class OpenDuringShutdownMain {

  private OpenDuringShutdownMain() {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    if (args[1].equals("init")) {
      BlockIndex.initializeShutdownHooks();
    }
    CountDownLatch shuttingDown = new CountDownLatch(1);
    CountDownLatch done = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  shuttingDown.countDown();
                  try {
                    done.await(60, TimeUnit.SECONDS);
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  }
                }));
    new ProcessBuilder("kill", "-TERM", Long.toString(ProcessHandle.current().pid()))
        .inheritIO()
        .start()
        .waitFor();
    if (!shuttingDown.await(30, TimeUnit.SECONDS)) {
      System.out.println("failed: SIGTERM did not start the shutdown");
      System.exit(3);
    }
    try {
      try (TieredStore store =
          TieredStore.builder().dataDir(dir).hotBytes(0).dramBytes(0).ssdBytes(64L << 20).build()) {
        store.put(TestPages.page(7, 1, 1, 4096));
        ByteBuffer d = ByteBuffer.allocateDirect(8192);
        System.out.println(store.get(7, 1, d) >= 0 ? "opened" : "failed: the page is missing");
      }
      System.out.println("closed");
    } catch (Throwable t) {
      StringBuilder chain = new StringBuilder("failed: ").append(t);
      for (Throwable c = t.getCause(); c != null; c = c.getCause()) {
        chain.append(" <- ").append(c);
      }
      System.out.println(chain);
    } finally {
      System.out.flush();
      done.countDown();
    }
  }
}
