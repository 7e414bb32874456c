package io.kvstore.client.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Cluster addresses, member records and the etcd gateway's JSON (spec §5.1, §5.2). */
class ClusterUriTest {

  @Test
  void shouldParseStaticAndEtcdAddresses() {
    ClusterUri s = ClusterUri.parse("static://a:7421,b:7422");
    assertEquals("static", s.scheme());
    assertEquals(List.of("a:7421", "b:7422"), s.endpoints());
    ClusterUri e = ClusterUri.parse("etcd://127.0.0.1:2379,h2:2379/prod?ttl=3&zone=rack-1");
    assertTrue(e.isEtcd());
    assertEquals("prod", e.name());
    assertEquals("/kvstore/prod/members/", e.memberPrefix());
    assertEquals("3", e.param("ttl", "5"));
    assertEquals("rack-1", e.param("zone", ""));
    assertEquals("x", e.param("advertise", "x"));
  }

  @Test
  void shouldRefuseMalformedAddressesWithAClearMessage() {
    assertThrows(IllegalArgumentException.class, () -> ClusterUri.parse("a:7421"));
    assertThrows(IllegalArgumentException.class, () -> ClusterUri.parse("zk://a:1/x"));
    assertThrows(IllegalArgumentException.class, () -> ClusterUri.parse("etcd://a:2379"));
    assertThrows(IllegalArgumentException.class, () -> ClusterUri.parse("etcd://a:2379/bad name"));
    assertThrows(IllegalArgumentException.class, () -> ClusterUri.parse("static://a"));
    assertThrows(IllegalArgumentException.class, () -> ClusterUri.parse("static://a:99999"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ClusterUri.parse("static://"));
    assertTrue(e.getMessage().contains("host:port"), e.getMessage());
  }

  @Test
  void shouldRoundTripAMemberRecord() {
    Member m = new Member("10.0.0.7:7421", "10.0.0.7", 7421, 64L << 30, "rack-3", 1);
    byte[] record = MemberRecord.encode(m);
    assertEquals("address=10.0.0.7:7421\ncapacity.bytes=68719476736\nzone=rack-3\nprotocol.version=1\n",
        new String(record, java.nio.charset.StandardCharsets.UTF_8));
    assertEquals(m, MemberRecord.decode(record));
    // unknown keys of a later version are ignored
    assertEquals(m, MemberRecord.decode(("future=1\n" + new String(record,
        java.nio.charset.StandardCharsets.UTF_8)).getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    assertThrows(IllegalArgumentException.class, () -> MemberRecord.decode("zone=a\n".getBytes()));
    assertThrows(IllegalArgumentException.class,
        () -> MemberRecord.decode("address=a:1\ncapacity.bytes=lots\n".getBytes()));
  }

  @Test
  void shouldReadMembersFromAnEtcdRangeResponseAndSkipBadRecords() {
    java.util.Base64.Encoder b64 = java.util.Base64.getEncoder();
    String good = b64.encodeToString(MemberRecord.encode(Member.parseAddress("h:1")));
    String bad = b64.encodeToString("nonsense".getBytes());
    String json = "{\"header\":{\"cluster_id\":\"1\",\"revision\":\"7\"},\"kvs\":["
        + "{\"key\":\"eA==\",\"create_revision\":\"5\",\"value\":\"" + good + "\",\"lease\":\"12\"},"
        + "{\"key\":\"eQ==\",\"value\":\"" + bad + "\"}],\"count\":\"2\"}";
    assertEquals(List.of(Member.parseAddress("h:1")), EtcdMembership.parseRange(json));
    assertEquals(List.of(), EtcdMembership.parseRange("{\"header\":{\"revision\":\"3\"}}"));
    assertThrows(IllegalArgumentException.class, () -> EtcdMembership.parseRange("{\"kvs\":[}"));
    assertThrows(IllegalArgumentException.class, () -> EtcdMembership.parseRange("[1, 2]"));
  }

  @Test
  void shouldEndThePrefixRangeAfterEveryKeyWithThePrefix() {
    assertEquals("/kvstore/a/members0",
        new String(EtcdMembership.prefixEnd("/kvstore/a/members/".getBytes())));
  }
}
