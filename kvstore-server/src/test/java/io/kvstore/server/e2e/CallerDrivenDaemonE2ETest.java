package io.kvstore.server.e2e;

import io.kvstore.client.KvStoreClientBuilder;

/**
 * Every {@link InProcessDaemonE2ETest} again with the SDK's blocking calls on caller-driven
 * connections (shared memory off, so blocking calls write and read their own socket on the
 * calling thread): the same exact bytes, errors and limits against the real daemon.
 */
class CallerDrivenDaemonE2ETest extends InProcessDaemonE2ETest {

  @Override
  KvStoreClientBuilder clientBuilder(int port) {
    return super.clientBuilder(port).sharedMemory(false).callerDrivenIo(true);
  }
}
