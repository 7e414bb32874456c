package io.kvstore.server.e2e;

import static io.kvstore.server.e2e.BadFramesE2ETest.NS_A;
import static io.kvstore.server.e2e.BadFramesE2ETest.NS_B;
import static io.kvstore.server.e2e.BadFramesE2ETest.TOKEN_A;
import static io.kvstore.server.e2e.BadFramesE2ETest.TOKEN_B;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.GetPageFlyweight;
import io.kvstore.client.protocol.Opcode;
import io.kvstore.core.store.TieredStore;
import io.kvstore.core.tier.TierKind;
import io.kvstore.server.net.KvStoreNetworkServer;
import io.kvstore.server.net.NetFixtures;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Namespace isolation on every verb, one test each: with namespace A's token, knowing B's keys,
 * GET, PUT (replacing), DELETE, LOOKUP and PREFETCH never read, reveal, move or change B's pages.
 * Where a tier matters (GET and PREFETCH of a page on SSD), the test checks that B's page stays
 * where it was: neither verb may promote another namespace's page into memory.
 */
class IsolationPerVerbE2ETest {

  private static final long HI = 0xB0B;

  @TempDir Path dir;
  private TieredStore store;
  private KvStoreNetworkServer server;
  private RawClient alice;
  private RawClient bob;
  private ByteBuffer bobsPage;

  @BeforeEach
  void start() throws Exception {
    // DRAM of 1 MiB, no hot tier: a few 200 KB pages push a page out to the SSD tier.
    store = TieredStore.builder().dataDir(dir).maxPageBytes(256 << 10).hotBytes(0)
        .dramBytes(1L << 20).ssdBytes(64L << 20).indexMaxEntries(10_000).build();
    server = new KvStoreNetworkServer(
        NetFixtures.config().authGrants(BadFramesE2ETest.grants()).build(), store, NetFixtures.metrics());
    server.start();
    alice = new RawClient(server.port());
    assertEquals(Opcode.HELLO_OK, alice.hello(1, 1, 1, NS_A, TOKEN_A).opcode());
    bob = new RawClient(server.port());
    assertEquals(Opcode.HELLO_OK, bob.hello(1, 1, 1, NS_B, TOKEN_B).opcode());
    bobsPage = NetFixtures.page(HI, 1, NS_B, 200_000); // the size class the push-out pages use
    bob.put(2, bobsPage);
    assertEquals(ErrorCode.OK, bob.read().bodyShort(8));
  }

  @AfterEach
  void stop() throws Exception {
    alice.close();
    bob.close();
    server.close();
    store.close();
  }

  /** Bob still reads his page, byte for byte. */
  private void assertBobsPageIntact() throws Exception {
    bob.keyBatch(Opcode.GET, 0, 90, 0, HI, 1);
    RawClient.Frame page = bob.read();
    assertEquals(Opcode.GET_PAGE, page.opcode(), page.toString());
    byte[] got = Arrays.copyOfRange(page.body(), GetPageFlyweight.PAGE_OFFSET - 16, page.body().length);
    assertArrayEquals(NetFixtures.bytes(bobsPage), got);
    assertEquals(Opcode.GET_DONE, bob.read().opcode());
  }

  /** Pushes Bob's page out of memory onto the SSD tier by putting Alice's pages directly. */
  private void pushBobsPageToSsd() throws Exception {
    for (int i = 0; i < 200 && NetFixtures.whereIs(store, HI, 1) != TierKind.SSD; i++) {
      assertTrue(store.put(NetFixtures.page(0xA, i, NS_A, 200_000)));
      if (i > 10) {
        Thread.sleep(5); // let the write-back queue drain
      }
    }
    assertEquals(TierKind.SSD, NetFixtures.whereIs(store, HI, 1), "setup: Bob's page on SSD only");
  }

  @Test
  void getShouldMissAnotherNamespacesPageInMemory() throws Exception {
    alice.keyBatch(Opcode.GET, 0, 3, 0, HI, 1);
    RawClient.Frame f = alice.read();
    assertEquals(Opcode.GET_DONE, f.opcode(), "no GET_PAGE for Bob's page: " + f);
    assertEquals(0, f.bodyInt(4), "hit count");
    assertBobsPageIntact();
  }

  @Test
  void getShouldMissAnotherNamespacesPageOnSsdWithoutPromotingIt() throws Exception {
    pushBobsPageToSsd();
    alice.keyBatch(Opcode.GET, 0, 3, 0, HI, 1);
    RawClient.Frame f = alice.read();
    assertEquals(Opcode.GET_DONE, f.opcode(), f.toString());
    assertEquals(0, f.bodyInt(4));
    assertEquals(TierKind.SSD, NetFixtures.whereIs(store, HI, 1), "Alice's GET moved Bob's page");
    assertBobsPageIntact();
  }

  @Test
  void putShouldNotReplaceAnotherNamespacesPage() throws Exception {
    // Alice's own page under Bob's key (stamped with her namespace, so it passes the header check).
    alice.put(3, NetFixtures.page(HI, 1, NS_A, 100));
    RawClient.Frame f = alice.read();
    assertEquals(Opcode.PUT_OK, f.opcode(), f.toString());
    assertEquals(ErrorCode.NAMESPACE_DENIED, f.bodyShort(8));
    // A page stamped with Bob's namespace is refused before the store sees it.
    alice.put(4, NetFixtures.page(HI, 1, NS_B, 100));
    assertEquals(ErrorCode.NAMESPACE_DENIED, alice.read().bodyShort(8));
    assertBobsPageIntact();
  }

  @Test
  void deleteShouldNotDeleteAnotherNamespacesPage() throws Exception {
    alice.keyBatch(Opcode.DELETE, 0, 3, 0, HI, 1);
    RawClient.Frame f = alice.read();
    assertEquals(Opcode.DELETE_OK, f.opcode(), f.toString());
    assertEquals(0, f.bodyInt(4), "reported as not present");
    assertBobsPageIntact();
  }

  @Test
  void lookupShouldAnswerAsIfAnotherNamespacesPageWereAbsent() throws Exception {
    ByteBuffer own = NetFixtures.page(HI, 0, NS_A, 100);
    alice.put(3, own);
    assertEquals(ErrorCode.OK, alice.read().bodyShort(8));
    alice.keyBatch(Opcode.LOOKUP, 0, 4, 0, HI, 1);
    assertEquals(0, alice.read().bodyInt(0), "Bob's key alone: run 0");
    alice.keyBatch(Opcode.LOOKUP, 0, 5, 0, HI, 0, HI, 1);
    assertEquals(1, alice.read().bodyInt(0), "her key then Bob's: the run stops at Bob's");
    bob.keyBatch(Opcode.LOOKUP, 0, 6, 0, HI, 1);
    assertEquals(1, bob.read().bodyInt(0), "Bob sees his own");
  }

  @Test
  void prefetchShouldNotMoveAnotherNamespacesPage() throws Exception {
    pushBobsPageToSsd();
    alice.keyBatch(Opcode.PREFETCH, 0, 3, 1000, HI, 1);
    RawClient.Frame f = alice.read();
    assertEquals(Opcode.PREFETCH_OK, f.opcode(), f.toString());
    assertEquals(0, f.bodyInt(4), "nothing promoted for Alice");
    assertEquals(TierKind.SSD, NetFixtures.whereIs(store, HI, 1), "Alice's PREFETCH moved Bob's page");
    bob.keyBatch(Opcode.PREFETCH, 0, 4, 1000, HI, 1);
    RawClient.Frame own = bob.read();
    assertEquals(1, own.bodyInt(4), "Bob's own prefetch promotes it: " + own);
    assertFalse(NetFixtures.whereIs(store, HI, 1) == TierKind.SSD, "promoted into memory");
    assertBobsPageIntact();
  }
}
