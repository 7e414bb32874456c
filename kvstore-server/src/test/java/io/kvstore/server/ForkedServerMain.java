package io.kvstore.server;

import java.nio.file.Path;

/**
 * Runs the real command, shutdown hook included, in a forked JVM with {@link RecordingNetworkServer}
 * as the network layer, for {@link ShutdownSignalTest}.
 */
public final class ForkedServerMain {
  private ForkedServerMain() {}

  /**
   * Runs until SIGTERM.
   *
   * @param args the command line
   */
  public static void main(String[] args) {
    KvStoreServerCommand command = new KvStoreServerCommand(
        new RecordingNetworkServer.Factory(false), System.getenv(), Path.of(""), true);
    System.exit(KvStoreServerCommand.commandLine(command).execute(args));
  }
}
