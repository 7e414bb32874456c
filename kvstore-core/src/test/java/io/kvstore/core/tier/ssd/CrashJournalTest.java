package io.kvstore.core.tier.ssd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The crash journal's file (spec/6-ssd-segments.md, 6.7): layout, states, and what reads it. */
class CrashJournalTest {

  @TempDir Path dir;

  @AfterEach
  void resetBootId() {
    CrashJournal.bootIdForTest = null;
  }

  @Test
  void shouldWriteTheSpecsTestVector() throws Exception {
    CrashJournal.bootIdForTest = () -> "b";
    CrashJournal j = CrashJournal.create(dir, new long[] {-1, 5});
    int intent = j.claim(5, 4096, 2128);
    byte[] file = Files.readAllBytes(dir.resolve(CrashJournal.FILE_NAME));
    assertEquals(1_572_944, file.length);
    HexFormat hex = HexFormat.of();
    String head =
        "4b564a524e4c3031" + "62" + "00".repeat(39) + "00000001" + "00000002" + "00010000"
            + "00".repeat(4) + "0000000000000000" + "0000000000000006";
    assertEquals(head, hex.formatHex(file, 0, 80));
    byte[] intents = new byte[24 * 65_536];
    System.arraycopy(
        hex.parseHex("0000000000000006" + "0000000000001000" + "0000000000000850"),
        0, intents, 24 * intent, 24);
    assertArrayEquals(intents, java.util.Arrays.copyOfRange(file, 80, file.length));
  }

  @Test
  void shouldKeepTombstonesApartFromIntentsAndThroughAnUntrustedMark() throws Exception {
    CrashJournal j = CrashJournal.create(dir, new long[] {4});
    int run = j.claim(4, 0, 100);
    int t1 = j.tombstone(11, 12);
    int t2 = j.tombstone(-5, 0); // any key: the first word tells a tombstone
    j.release(t1);
    CrashJournal.Previous p = CrashJournal.read(dir);
    assertEquals(List.of(new CrashJournal.Intent(4, 0, 100)), p.intents(), "the run only");
    assertArrayEquals(new long[] {-5, 0}, p.tombstones(), "the tombstone left, key hi and lo");
    assertTrue(p.sameBoot());
    assertTrue(run != t1 && run != t2 && t1 != t2, "one table, distinct entries");
    j.close();

    // The open that will rebuild makes it vouch for nothing but keeps the tombstones to apply.
    CrashJournal.markUntrusted(dir);
    p = CrashJournal.read(dir);
    assertEquals(CrashJournal.UNTRUSTED, p.state());
    assertFalse(p.trustworthy());
    assertArrayEquals(new long[] {-5, 0}, p.tombstones());

    // Written on another boot: its tombstones say nothing (stores may not have reached the disk).
    CrashJournal.bootIdForTest = () -> "another-boot";
    assertFalse(CrashJournal.read(dir).sameBoot());
    CrashJournal.markUntrusted(dir);
    assertFalse(Files.exists(dir.resolve(CrashJournal.FILE_NAME)), "nothing in it to keep");
  }

  @Test
  void shouldHandOutEveryEntryToTombstonesAndThenRefuse() throws Exception {
    CrashJournal j = CrashJournal.create(dir, new long[] {1});
    for (int i = 0; i < CrashJournal.INTENTS; i++) {
      assertTrue(j.tombstone(i, i) >= 0);
    }
    assertEquals(-1, j.tombstone(9, 9), "full: the caller deletes the record itself");
    assertEquals(CrashJournal.OPEN, j.state(), "and the journal stays trusted");
    j.close();
  }

  @Test
  void shouldBeReadBackByTheNextRunWithItsSlotsAndIntents() throws Exception {
    CrashJournal j = CrashJournal.create(dir, new long[] {7, -1, 3});
    j.slot(1, 9);
    j.slot(0, -1);
    int a = j.claim(9, 0, 100);
    int b = j.claim(3, 64, 200);
    j.release(a);
    CrashJournal.Previous p = CrashJournal.read(dir);
    assertEquals(CrashJournal.OPEN, p.state());
    assertEquals(Map.of(9L, 1, 3L, 2), p.slotOf());
    assertEquals(List.of(new CrashJournal.Intent(3, 64, 200)), p.intents());
    assertTrue(p.trustworthy(), "open, written on this boot");
    j.release(b);
    assertEquals(List.of(), CrashJournal.read(dir).intents());
  }

  @Test
  void shouldNotBeTrustedOnAnotherBootOrOnceClosedOrUntrusted() throws Exception {
    CrashJournal j = CrashJournal.create(dir, new long[4]);
    CrashJournal.bootIdForTest = () -> "another boot";
    assertFalse(CrashJournal.read(dir).trustworthy(), "a machine crash: another boot id");
    CrashJournal.bootIdForTest = null;
    assertTrue(CrashJournal.read(dir).trustworthy());
    j.closed();
    assertEquals(CrashJournal.CLOSED, CrashJournal.read(dir).state());
    assertFalse(CrashJournal.read(dir).trustworthy(), "closed: the clean marker governs");

    CrashJournal k = CrashJournal.create(dir, new long[4]);
    assertTrue(CrashJournal.read(dir).trustworthy(), "a new run's journal replaces the last");
    k.untrusted();
    k.closed();
    assertEquals(CrashJournal.UNTRUSTED, k.state(), "untrusted stays untrusted");
    assertFalse(CrashJournal.read(dir).trustworthy());
  }

  @Test
  void shouldBecomeUntrustedWhenEveryIntentIsTaken() throws Exception {
    CrashJournal j = CrashJournal.create(dir, new long[1]);
    for (int i = 0; i < CrashJournal.INTENTS; i++) {
      assertTrue(j.claim(1, i, 1) >= 0);
    }
    assertEquals(CrashJournal.OPEN, j.state());
    assertEquals(-1, j.claim(1, 999, 1), "no intent left");
    assertEquals(CrashJournal.UNTRUSTED, CrashJournal.read(dir).state());
    assertEquals(CrashJournal.INTENTS, CrashJournal.read(dir).intents().size());
  }

  @Test
  void shouldIgnoreAFileThatIsNotAWholeJournal() throws Exception {
    assertNull(CrashJournal.read(dir), "none");
    CrashJournal.create(dir, new long[8]);
    Path f = dir.resolve(CrashJournal.FILE_NAME);
    byte[] whole = Files.readAllBytes(f);
    Files.write(f, java.util.Arrays.copyOf(whole, whole.length - 1));
    assertNull(CrashJournal.read(dir), "cut short");
    byte[] other = whole.clone();
    other[0] ^= 1;
    Files.write(f, other);
    assertNull(CrashJournal.read(dir), "another magic");
    Files.write(f, ByteBuffer.allocate(whole.length).array());
    assertNull(CrashJournal.read(dir), "zeros");
    Files.write(f, new byte[3]);
    assertNull(CrashJournal.read(dir), "three bytes");
  }

  @Test
  void shouldNotBeTrustedWhereTheBootIdCannotBeRead() throws Exception {
    CrashJournal.bootIdForTest = () -> "";
    CrashJournal.create(dir, new long[1]);
    assertFalse(CrashJournal.read(dir).trustworthy());
  }
}
