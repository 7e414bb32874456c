package io.kvstore.core.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

class SeenTwiceAdmissionTest {

  private static long hi(int key) {
    return 0x1234_5678_0000_0000L | key;
  }

  private static long lo(int key) {
    return FrequencySketch.mix(key, 0xABCDL);
  }

  @Test
  void shouldAdmitAKeyOnItsSecondSighting() {
    SeenTwiceAdmission admission = new SeenTwiceAdmission(4096);
    assertFalse(admission.admit(hi(1), lo(1)));
    admission.record(hi(1), lo(1));
    assertFalse(admission.admit(hi(1), lo(1)));
    admission.record(hi(1), lo(1));
    assertTrue(admission.admit(hi(1), lo(1)));
    assertEquals("seen-twice", admission.name());
  }

  @Test
  void shouldRarelyAdmitKeysSeenOnceAndAlwaysKeysSeenTwice() {
    SeenTwiceAdmission admission = new SeenTwiceAdmission(4096);
    for (int k = 0; k < 1000; k++) {
      admission.record(hi(k), lo(k));
    }
    int falseAdmits = 0;
    for (int k = 0; k < 1000; k++) {
      falseAdmits += admission.admit(hi(k), lo(k)) ? 1 : 0;
    }
    assertTrue(falseAdmits < 20, "admitted after one sighting: " + falseAdmits);
    for (int k = 0; k < 1000; k++) {
      admission.record(hi(k), lo(k));
    }
    for (int k = 0; k < 1000; k++) {
      assertTrue(admission.admit(hi(k), lo(k)), "key " + k);
    }
  }

  @Test
  void shouldForgetOldSightingsAfterSeveralSamples() {
    SeenTwiceAdmission admission = new SeenTwiceAdmission(64);
    admission.record(hi(1), lo(1));
    admission.record(hi(1), lo(1));
    assertTrue(admission.admit(hi(1), lo(1)));
    for (int k = 1000; k < 1000 + 3 * 64; k++) {
      admission.record(hi(k), lo(k));
    }
    assertFalse(admission.admit(hi(1), lo(1)));
  }

  @Test
  void shouldNotLoseSightingsUnderConcurrentRecords() throws Exception {
    SeenTwiceAdmission admission = new SeenTwiceAdmission(1 << 16);
    int threads = 4;
    int perThread = 2000;
    CountDownLatch start = new CountDownLatch(1);
    List<Thread> workers = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      int base = t * perThread;
      Thread w = new Thread(() -> {
        try {
          start.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
        for (int round = 0; round < 2; round++) {
          for (int k = base; k < base + perThread; k++) {
            admission.record(hi(k), lo(k));
          }
        }
      });
      w.start();
      workers.add(w);
    }
    start.countDown();
    for (Thread w : workers) {
      w.join();
    }
    for (int k = 0; k < threads * perThread; k++) {
      assertTrue(admission.admit(hi(k), lo(k)), "key " + k);
    }
  }

  @Test
  void shouldBoundMemoryAtConstruction() {
    assertEquals(8 * 1024, new SeenTwiceAdmission(1000).memoryBytes());
    assertEquals(8 * 16, new SeenTwiceAdmission(1).memoryBytes());
    assertThrows(IllegalArgumentException.class, () -> new SeenTwiceAdmission(0));
  }
}
