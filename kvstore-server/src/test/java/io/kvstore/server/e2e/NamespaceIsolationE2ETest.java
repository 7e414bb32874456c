package io.kvstore.server.e2e;

import static io.kvstore.server.e2e.BadFramesE2ETest.NS_A;
import static io.kvstore.server.e2e.BadFramesE2ETest.NS_B;
import static io.kvstore.server.e2e.BadFramesE2ETest.TOKEN_A;
import static io.kvstore.server.e2e.BadFramesE2ETest.TOKEN_B;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.kvstore.client.GetResult;
import io.kvstore.client.KvStoreClient;
import io.kvstore.client.KvStoreException;
import io.kvstore.client.PutResult;
import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.core.store.TieredStore;
import io.kvstore.server.net.KvStoreNetworkServer;
import io.kvstore.server.net.NetFixtures;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Two clients with different tokens, each granted its own namespace, cannot read, overwrite or
 * delete each other's pages, even when they know the keys.
 */
class NamespaceIsolationE2ETest {

  private TieredStore store;
  private KvStoreNetworkServer server;
  private KvStoreClient alice;
  private KvStoreClient bob;

  @BeforeEach
  void start() throws Exception {
    store = TieredStore.builder().maxPageBytes(NetFixtures.MAX_PAGE).hotBytes(0)
        .dramBytes(16L << 20).ssdBytes(0).build();
    server = new KvStoreNetworkServer(
        NetFixtures.config().authGrants(BadFramesE2ETest.grants()).build(), store, NetFixtures.metrics());
    server.start();
    alice = KvStoreClient.builder().address("127.0.0.1", server.port()).namespaceId(NS_A)
        .authToken(TOKEN_A).build();
    bob = KvStoreClient.builder().address("127.0.0.1", server.port()).namespaceId(NS_B)
        .authToken(TOKEN_B).build();
  }

  @AfterEach
  void stop() {
    alice.close();
    bob.close();
    server.close();
    store.close();
  }

  @Test
  void shouldNotServeAPageOfAnotherNamespaceEvenForItsKey() {
    ByteBuffer a = NetFixtures.page(10, 1, NS_A, 4096);
    ByteBuffer b = NetFixtures.page(10, 2, NS_B, 4096);
    alice.put(new ByteBuffer[] {a});
    bob.put(new ByteBuffer[] {b});
    long[] both = {10, 1, 10, 2};

    ByteBuffer[] dsts = {ByteBuffer.allocate(8192), ByteBuffer.allocate(8192)};
    GetResult bobGot = bob.get(both, dsts);
    assertEquals(1, bobGot.found());
    assertEquals(false, bobGot.isHit(0), "bob must not read alice's page");
    assertArrayEquals(NetFixtures.bytes(b), NetFixtures.bytes(dsts[1], bobGot.length(1)));

    GetResult aliceGot = alice.get(both, dsts);
    assertEquals(1, aliceGot.found());
    assertEquals(false, aliceGot.isHit(1), "alice must not read bob's page");
    assertArrayEquals(NetFixtures.bytes(a), NetFixtures.bytes(dsts[0], aliceGot.length(0)));
  }

  @Test
  void shouldNotLetAClientWriteOrDeleteInAnotherNamespace() {
    ByteBuffer a = NetFixtures.page(11, 1, NS_A, 4096);
    alice.put(new ByteBuffer[] {a});

    // Bob sends a page that claims alice's namespace, with alice's key: refused, not stored.
    PutResult forged = bob.put(new ByteBuffer[] {NetFixtures.page(11, 1, NS_A, 100)});
    assertEquals(ErrorCode.NAMESPACE_DENIED, forged.status(0));
    // Bob deletes alice's key: reported as not present, and left alone.
    assertEquals(0, bob.delete(new long[] {11, 1}));

    ByteBuffer dst = ByteBuffer.allocate(8192);
    GetResult got = alice.get(new long[] {11, 1}, new ByteBuffer[] {dst});
    assertEquals(1, got.found());
    assertArrayEquals(NetFixtures.bytes(a), NetFixtures.bytes(dst, got.length(0)));
  }

  @Test
  void shouldRefuseAClientThatAsksForANamespaceItsTokenDoesNotGrant() {
    KvStoreException e = assertThrows(KvStoreException.class, () -> KvStoreClient.builder()
        .address("127.0.0.1", server.port()).namespaceId(NS_A).authToken(TOKEN_B).build());
    assertEquals(ErrorCode.NAMESPACE_DENIED, e.code(), e.getMessage());
  }
}
