package io.kvstore.client.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.client.protocol.FrameDescriptor;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** A member's registration record (spec/5 §5.2) and which advertised versions the SDK routes to. */
class MemberRecordTest {

  private static Member withVersion(int version) {
    return new Member("10.0.0.7:7421", "10.0.0.7", 7421, 1L << 30, "rack-3", version);
  }

  @Test
  void shouldAdvertiseTheOldestVersionItSpeaks() {
    String text = new String(MemberRecord.encode(Member.ofAddress("10.0.0.7", 7421)),
        StandardCharsets.UTF_8);
    assertTrue(text.contains("protocol.version=" + FrameDescriptor.MIN_PROTOCOL_VERSION + "\n"),
        text);
    assertEquals(1, Member.PROTOCOL_VERSION, "older SDKs route only to members that write 1");
  }

  @Test
  void shouldRouteToEveryVersionItSpeaksAndNoOther() {
    assertFalse(withVersion(0).speaksProtocol());
    for (int v = FrameDescriptor.MIN_PROTOCOL_VERSION; v <= FrameDescriptor.PROTOCOL_VERSION; v++) {
      assertTrue(withVersion(v).speaksProtocol(), "version " + v);
    }
    assertFalse(withVersion(FrameDescriptor.PROTOCOL_VERSION + 1).speaksProtocol());
  }

  @Test
  void shouldReadTheVersionBackAndKeepUnknownKeysOut() {
    Member m = withVersion(2);
    Member back = MemberRecord.decode(
        (new String(MemberRecord.encode(m), StandardCharsets.UTF_8) + "future.key=x\n")
            .getBytes(StandardCharsets.UTF_8));
    assertEquals(m, back);
  }
}
