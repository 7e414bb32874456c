package io.kvstore.bench.crash;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.kvstore.common.PageFormat;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/** The crash test's judge: what a GET may return after a crash, and what it must never return. */
class KeyModelTest {

  private static final int PAYLOAD = 256;
  private final PagePattern pattern = new PagePattern(42, 7, PAYLOAD);
  private final KeyModel model = new KeyModel(pattern, 16);
  private final ByteBuffer page = ByteBuffer.allocateDirect(pattern.pageLength() + 64);
  private final ByteBuffer scratch = ByteBuffer.allocateDirect(pattern.pageLength());

  private Verdict judgeVersion(int k, long version) {
    pattern.build(page, k, version);
    return model.judge(k, page, 0, pattern.pageLength(), scratch);
  }

  @Test
  void shouldBuildValidPagesThatDifferByVersionAndKey() {
    pattern.build(page, 3, 1);
    assertEquals(PageFormat.OK, PageFormat.verify(page, 0, pattern.pageLength()));
    assertEquals(pattern.keyHi(3), PageFormat.keyHi(page, 0));
    assertEquals(7, PageFormat.namespaceId(page, 0));
    assertEquals(1, pattern.claimedVersion(page, 0, pattern.pageLength()));
    ByteBuffer other = ByteBuffer.allocateDirect(pattern.pageLength());
    pattern.build(other, 3, 2);
    assertNotEquals(page.slice(0, pattern.pageLength()), other.slice(0, pattern.pageLength()));
    pattern.build(other, 4, 1);
    assertNotEquals(page.slice(0, pattern.pageLength()), other.slice(0, pattern.pageLength()));
  }

  @Test
  void shouldJudgeTheLastAcknowledgedPutExactAndAMissAllowed() {
    long v = model.nextVersion(1);
    model.putAcked(1, v);
    assertEquals(Verdict.EXACT, judgeVersion(1, v));
    assertEquals(Verdict.MISS, model.judge(1, page, 0, -1, scratch));
  }

  @Test
  void shouldJudgeAnyChangedByteWrong() {
    long v = model.nextVersion(1);
    model.putAcked(1, v);
    for (int at : new int[] {0, PageFormat.KEY_LO_OFFSET, PageFormat.HEADER_LENGTH + 30,
        pattern.pageLength() - 1}) {
      pattern.build(page, 1, v);
      page.put(at, (byte) (page.get(at) ^ 0x10));
      assertEquals(Verdict.WRONG, model.judge(1, page, 0, pattern.pageLength(), scratch),
          "byte " + at + " flipped");
    }
    pattern.build(page, 1, v);
    assertEquals(Verdict.WRONG, model.judge(1, page, 0, pattern.pageLength() - 1, scratch),
        "a page cut short");
    assertEquals(Verdict.WRONG, model.judge(1, page, 0, 10, scratch), "a few bytes");
  }

  @Test
  void shouldJudgeAnotherKeysPageAndANeverWrittenKeysPageWrong() {
    long v = model.nextVersion(1);
    model.putAcked(1, v);
    pattern.build(page, 2, v);
    assertEquals(Verdict.WRONG, model.judge(1, page, 0, pattern.pageLength(), scratch));
    assertEquals(Verdict.WRONG, judgeVersion(5, 1), "key 5 was never written");
    assertEquals(Verdict.WRONG, judgeVersion(1, 9), "version 9 of key 1 was never sent");
  }

  @Test
  void shouldJudgeAnOverwrittenVersionStale() {
    long v1 = model.nextVersion(1);
    model.putAcked(1, v1);
    long v2 = model.nextVersion(1);
    model.putAcked(1, v2);
    assertEquals(Verdict.STALE, judgeVersion(1, v1));
    assertEquals(Verdict.EXACT, judgeVersion(1, v2));
  }

  @Test
  void shouldJudgeAPageAfterAnAcknowledgedDeleteResurrected() {
    long v1 = model.nextVersion(1);
    model.putAcked(1, v1);
    model.deleteAcked(1);
    assertEquals(Verdict.RESURRECTED, judgeVersion(1, v1));
    assertEquals(Verdict.MISS, model.judge(1, page, 0, -1, scratch));
  }

  @Test
  void shouldAcceptEitherOutcomeOfAPutInFlightUntilTheNextAcknowledgedWrite() {
    long v1 = model.nextVersion(1);
    model.putAcked(1, v1);
    long v2 = model.nextVersion(1);
    model.putUncertain(1, v2);
    assertEquals(Verdict.EXACT, judgeVersion(1, v1), "the put in flight did not land");
    assertEquals(Verdict.EXACT, judgeVersion(1, v2), "the put in flight landed");
    assertEquals(1, model.uncertainKeys());
    long v3 = model.nextVersion(1);
    model.putAcked(1, v3);
    assertEquals(Verdict.STALE, judgeVersion(1, v2), "superseded by an acknowledged put");
    assertEquals(0, model.uncertainKeys());
  }

  @Test
  void shouldAcceptAPutInFlightAfterADeleteButNotTheDeletedVersion() {
    long v1 = model.nextVersion(1);
    model.putAcked(1, v1);
    model.deleteAcked(1);
    long v2 = model.nextVersion(1);
    model.putUncertain(1, v2);
    assertEquals(Verdict.EXACT, judgeVersion(1, v2));
    assertEquals(Verdict.RESURRECTED, judgeVersion(1, v1));
  }

  @Test
  void shouldRefuseAPayloadTooSmallForTheVersion() {
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> new PagePattern(1, 1, PagePattern.MIN_PAYLOAD_BYTES - 1));
  }
}
