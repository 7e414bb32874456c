package io.kvstore.core.index;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The index costs no Java heap per entry: 10M entries fit in a JVM with a 256 MiB heap. Takes 15 s
 * on an idle 2-core machine, 35 s on a busy one, hence slow.
 */
@Tag("slow")
class BlockIndexBoundedHeapTest {

  @TempDir Path dir;

  @Test
  void shouldHoldTenMillionEntriesInA256MiBHeap() throws Exception {
    int exit =
        ForkedJvm.run(
            List.of("-Xmx256m"), IndexFillerMain.class, dir.toString(), "10000000");
    assertEquals(0, exit, "the forked index filler failed (see its stderr above)");
  }
}
