package io.kvstore.client;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * A fresh {@link FakeDaemon} per test, and the clients a test connects to it, all closed after the
 * test (clients first). A test may replace {@link #daemon} (a restart); the last one is closed.
 */
abstract class FakeDaemonTestBase {

  protected FakeDaemon daemon;
  private final List<KvStoreClient> clients = new ArrayList<>();

  @BeforeEach
  void startDaemon() throws InterruptedException {
    daemon = new FakeDaemon();
  }

  @AfterEach
  void stop() {
    clients.forEach(KvStoreClient::close);
    daemon.close();
  }

  /** Builds the client and closes it after the test. */
  protected KvStoreClient connect(KvStoreClientBuilder builder) {
    KvStoreClient client = builder.build();
    clients.add(client);
    return client;
  }
}
