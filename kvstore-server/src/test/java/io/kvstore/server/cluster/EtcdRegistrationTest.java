package io.kvstore.server.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.kvstore.client.cluster.ClusterUri;
import io.kvstore.client.cluster.EtcdMembership;
import io.kvstore.client.cluster.Member;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Registration against a real etcd, read back by the SDK's membership source: the member appears
 * with its record, comes back under a new lease when its lease is revoked behind its back (as when
 * it expires while etcd is unreachable), and is gone at once on close.
 */
class EtcdRegistrationTest {

  private static final Pattern LEASE = Pattern.compile("\"lease\":\"(\\d+)\"");

  @TempDir Path dir;

  @Test
  void shouldRegisterReRegisterAfterALostLeaseAndDeregisterOnClose() throws Exception {
    assumeTrue(EtcdProcess.binary() != null, EtcdProcess.MISSING);
    try (EtcdProcess etcd = new EtcdProcess(dir)) {
      ClusterUri uri = ClusterUri.parse("etcd://" + etcd.endpoint() + "/reg");
      Member self = new Member("127.0.0.1:7421", "127.0.0.1", 7421, 123L << 20, "zone-a", Member.PROTOCOL_VERSION);
      try (EtcdMembership members = new EtcdMembership(uri, Duration.ofMillis(100))) {
        // 3 s: jetcd renews every second, so it learns of the revoked lease within about a second
        EtcdRegistration registration = new EtcdRegistration(uri, self, Duration.ofSeconds(3));
        try {
          await(() -> members.members().equals(List.of(self)), "registered");
          await(registration::registered, "registration reports itself registered");
          assertEquals(1, registration.registrations());
          assertEquals(0, registration.leasesLost());
          long lease = leaseOf(etcd, uri);

          // the lease is revoked behind the daemon's back: its key goes, and it registers again
          post(etcd, "/v3/lease/revoke", "{\"ID\":\"" + lease + "\"}");
          assertTrue(leaseOf(etcd, uri) < 0, "revoking the lease deletes the key");
          await(() -> {
            long now = leaseOfQuietly(etcd, uri);
            return now > 0 && now != lease;
          }, "registered again under a new lease");
          await(() -> members.members().equals(List.of(self)), "seen again by the SDK");
          await(registration::registered, "registration reports itself registered again");
          assertEquals(1, registration.leasesLost(), "the revoked lease is counted");
          assertEquals(2, registration.registrations());
          assertEquals(0, registration.failedAttempts());
        } finally {
          registration.close();
        }
        assertTrue(leaseOf(etcd, uri) < 0, "deregistered at once on close");
        await(() -> members.members().isEmpty(), "the SDK sees it gone");
      }
    }
  }

  private static long leaseOfQuietly(EtcdProcess etcd, ClusterUri uri) {
    try {
      return leaseOf(etcd, uri);
    } catch (Exception e) {
      return -1;
    }
  }

  private static long leaseOf(EtcdProcess etcd, ClusterUri uri) throws Exception {
    String key = Base64.getEncoder().encodeToString(
        (uri.memberPrefix() + "127.0.0.1:7421").getBytes(StandardCharsets.UTF_8));
    String body = post(etcd, "/v3/kv/range", "{\"key\":\"" + key + "\"}");
    Matcher m = LEASE.matcher(body);
    return m.find() ? Long.parseLong(m.group(1)) : -1;
  }

  private static String post(EtcdProcess etcd, String path, String json) throws Exception {
    HttpResponse<String> r = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://" + etcd.endpoint() + path))
            .timeout(Duration.ofSeconds(5)).POST(HttpRequest.BodyPublishers.ofString(json)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), r.body());
    return r.body();
  }

  private static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > until) {
        throw new AssertionError("timed out waiting: " + what);
      }
      Thread.sleep(50);
    }
  }
}
