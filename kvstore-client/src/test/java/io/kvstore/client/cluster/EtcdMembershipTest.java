package io.kvstore.client.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * The etcd membership source against a stand-in of etcd's JSON gateway ({@code POST /v3/kv/range}):
 * members read and followed, and an unreachable etcd keeps the last members, with the stale flag
 * and counter. The real etcd is exercised by kvstore-server's ClusterE2ETest.
 */
class EtcdMembershipTest {

  private static final Duration POLL = Duration.ofMillis(50);

  /** A gateway double: answers the range of the members it holds; can answer 503. */
  private static final class Gateway implements AutoCloseable {
    final HttpServer server;
    final AtomicReference<List<Member>> members = new AtomicReference<>(List.of());
    final AtomicInteger status = new AtomicInteger(200);
    final AtomicReference<String> lastBody = new AtomicReference<>();

    Gateway() throws IOException {
      server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
      server.createContext("/v3/kv/range", exchange -> {
        lastBody.set(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
        StringBuilder json = new StringBuilder("{\"header\":{\"revision\":\"9\"}");
        List<Member> list = members.get();
        if (!list.isEmpty()) {
          json.append(",\"kvs\":[");
          for (int i = 0; i < list.size(); i++) {
            json.append(i == 0 ? "" : ",").append("{\"key\":\"eA==\",\"value\":\"")
                .append(Base64.getEncoder().encodeToString(MemberRecord.encode(list.get(i)))).append("\"}");
          }
          json.append("],\"count\":\"").append(list.size()).append('"');
        }
        byte[] body = json.append('}').toString().getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(status.get(), body.length);
        try (OutputStream out = exchange.getResponseBody()) {
          out.write(body);
        }
      });
      server.start();
    }

    String endpoint() {
      return "127.0.0.1:" + server.getAddress().getPort();
    }

    @Override
    public void close() {
      server.stop(0);
    }
  }

  @Test
  void shouldFollowMembersAndKeepTheLastOnesWhileEtcdIsUnreachable() throws Exception {
    try (Gateway etcd = new Gateway()) {
      Member a = Member.parseAddress("10.0.0.1:7421");
      Member b = Member.parseAddress("10.0.0.2:7421");
      etcd.members.set(List.of(a, b));
      // What each change notification saw. The poll thread publishes the members, then calls the
      // listeners: a test that waits for the members alone can look before its listener ran (CI
      // saw 0 notifications there). Notifications run one after another on that thread, so one
      // for [a, b] (when the first poll, not the constructor, read them) never sees [b].
      List<List<Member>> seen = new CopyOnWriteArrayList<>();
      try (EtcdMembership m = new EtcdMembership(ClusterUri.parse("etcd://" + etcd.endpoint() + "/t"), POLL)) {
        m.onChange(() -> seen.add(m.members()));
        // The constructor reads once (bounded by the request timeout, 2 s here); on a host loaded
        // enough that this test's HTTP server misses that, the next poll reads it.
        await(() -> m.members().equals(List.of(a, b)));
        assertTrue(etcd.lastBody.get().contains("\"serializable\":true"), etcd.lastBody.get());
        assertTrue(etcd.lastBody.get().contains(Base64.getEncoder().encodeToString(
            "/kvstore/t/members/".getBytes(StandardCharsets.UTF_8))), etcd.lastBody.get());
        etcd.members.set(List.of(b));
        await(() -> seen.contains(List.of(b)));
        assertEquals(List.of(b), m.members());
        assertEquals(1, Collections.frequency(seen, List.of(b)), "one notification: " + seen);
        assertFalse(m.isStale());

        etcd.status.set(503); // etcd answers, but not with members
        await(m::isStale);
        assertEquals(List.of(b), m.members(), "the last members stay in use");
        assertEquals(1, m.staleEvents());
        etcd.status.set(200);
        await(() -> !m.isStale());
        assertEquals(1, m.staleEvents());
      }
    }
  }

  @Test
  void shouldStartStaleAndEmptyWhenNoEndpointAnswersAndUseTheNextEndpoint() throws Exception {
    int closedPort;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      closedPort = s.getLocalPort();
    }
    try (EtcdMembership m = new EtcdMembership(
        ClusterUri.parse("etcd://127.0.0.1:" + closedPort + "/t"), POLL)) {
      assertTrue(m.isStale());
      assertEquals(List.of(), m.members());
      assertEquals(1, m.staleEvents());
    }
    try (Gateway etcd = new Gateway()) {
      etcd.members.set(List.of(Member.parseAddress("h:1")));
      try (EtcdMembership m = new EtcdMembership(
          ClusterUri.parse("etcd://127.0.0.1:" + closedPort + "," + etcd.endpoint() + "/t"), POLL)) {
        assertFalse(m.isStale(), "the second endpoint answers");
        assertEquals(1, m.members().size());
      }
    }
  }

  @Test
  void shouldBuildAClusterClientWithNoReachableEtcdThatAnswersMisses() throws Exception {
    int closedPort;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      closedPort = s.getLocalPort();
    }
    try (ClusterClient client = ClusterClient.builder()
        .cluster("etcd://127.0.0.1:" + closedPort + "/t")
        .namespaceId(7)
        .pollInterval(POLL)
        .build()) {
      assertEquals(0, client.lookupChainAsync(new long[] {1, 2, 3, 4}).get(5, TimeUnit.SECONDS));
      ClusterStats stats = client.stats();
      assertTrue(stats.membershipStale());
      assertEquals(0, stats.members());
    }
  }

  private static void await(BooleanSupplier condition) throws InterruptedException {
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > until) {
        throw new AssertionError("condition not met within 10 s");
      }
      Thread.sleep(10);
    }
  }
}
