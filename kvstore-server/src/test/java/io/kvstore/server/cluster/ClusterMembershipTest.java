package io.kvstore.server.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.client.cluster.ClusterUri;
import io.kvstore.client.cluster.Member;
import io.kvstore.server.config.ConfigException;
import io.kvstore.server.config.ServerConfig;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The daemon's side of the cluster setting: who it registers as, bad parameters, etcd away. */
class ClusterMembershipTest {

  private static ServerConfig config(String cluster) {
    return ServerConfig.builder().host("127.0.0.1").hotBytes(1 << 20).dramBytes(2 << 20)
        .ssdBytes(4 << 20).cluster(cluster).build();
  }

  @Test
  void shouldRegisterNothingWhenOffOrStatic() {
    assertNull(ClusterMembership.join(config("off"), 7421));
    assertNull(ClusterMembership.join(config("static://127.0.0.1:7421,127.0.0.1:7422"), 7421));
  }

  @Test
  void shouldAdvertiseItsBoundAddressOrTheGivenOneWithItsCapacityAndZone() {
    Member self = ClusterMembership.self(config("off"), ClusterUri.parse("etcd://e:2379/x?zone=r1"), 7999);
    assertEquals("127.0.0.1:7999", self.id());
    assertEquals((1 << 20) + (2 << 20) + (4 << 20), self.capacityBytes());
    assertEquals("r1", self.zone());
    Member advertised = ClusterMembership.self(config("off"),
        ClusterUri.parse("etcd://e:2379/x?advertise=kv-1.example:7421"), 7999);
    assertEquals("kv-1.example:7421", advertised.id());
    assertEquals(Member.PROTOCOL_VERSION, advertised.protocolVersion());
  }

  @Test
  void shouldRefuseBadClusterParametersAsConfigurationErrors() {
    ConfigException ttl = assertThrows(ConfigException.class,
        () -> ClusterMembership.join(config("etcd://127.0.0.1:1/x?ttl=0"), 7421));
    assertTrue(ttl.getMessage().contains("ttl"), ttl.getMessage());
    assertThrows(ConfigException.class,
        () -> ClusterMembership.join(config("etcd://127.0.0.1:1/x?ttl=soon"), 7421));
    assertThrows(ConfigException.class,
        () -> ClusterMembership.join(config("etcd://127.0.0.1:1/x?advertise=nohost"), 7421));
    assertThrows(IllegalArgumentException.class, () -> config("etcd://127.0.0.1:1"));
  }

  @Test
  void shouldServeOnAndStopPromptlyWhenEtcdCannotBeReached() throws Exception {
    int closedPort = EtcdProcess.freePort();
    EtcdRegistration r = new EtcdRegistration(ClusterUri.parse("etcd://127.0.0.1:" + closedPort + "/x"),
        Member.parseAddress("127.0.0.1:7421"), Duration.ofSeconds(2));
    try {
      Thread.sleep(300);
      assertFalse(r.registered());
      long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (r.failedAttempts() == 0 && System.nanoTime() < until) {
        Thread.sleep(50);
      }
      assertTrue(r.failedAttempts() >= 1, "a failed attempt to register is counted");
      assertEquals(0, r.registrations());
    } finally {
      long t0 = System.nanoTime();
      r.close();
      assertTrue(System.nanoTime() - t0 < Duration.ofSeconds(15).toNanos(), "close hung on an absent etcd");
    }
    assertFalse(r.registered());
  }
}
