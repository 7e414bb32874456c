package io.kvstore.core.index;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import net.openhft.chronicle.hash.VanillaGlobalMutableState;
import net.openhft.chronicle.values.ValueModel;
import net.openhft.chronicle.values.Values;
import org.junit.jupiter.api.Test;

/**
 * The Chronicle Values implementation classes checked in under src/main/java ({@code
 * IndexKey$$Native} and the others) are exactly what Chronicle Values generates for the Chronicle
 * version in the build, and Chronicle uses them instead of compiling its own. They save the
 * in-process javac (the first compile costs over a second) on every start: the index's key and
 * record, and the global state of every persisted Chronicle Map. A Chronicle upgrade that changes
 * the generated code (a layout, a method) fails here with the new text, written under {@code
 * target/pregenerated/} to be copied over the checked-in file.
 */
class PregeneratedValueClassesTest {

  private static final Path SOURCES = Path.of("src/main/java");
  private static final Path OUT = Path.of("target/pregenerated");

  @Test
  void shouldMatchWhatChronicleValuesGenerates() throws Exception {
    check(IndexKey.class, true);
    check(IndexKey.class, false);
    check(IndexRecord.class, true);
    check(IndexRecord.class, false);
    check(VanillaGlobalMutableState.class, true);
  }

  @Test
  void shouldBeTheClassesChronicleUses() throws Exception {
    assertSame(Class.forName("io.kvstore.core.index.IndexKey$$Native"), Values.nativeClassFor(IndexKey.class));
    assertSame(Class.forName("io.kvstore.core.index.IndexKey$$Heap"), Values.heapClassFor(IndexKey.class));
    assertSame(
        Class.forName("io.kvstore.core.index.IndexRecord$$Native"),
        Values.nativeClassFor(IndexRecord.class));
    assertSame(
        Class.forName("io.kvstore.core.index.IndexRecord$$Heap"), Values.heapClassFor(IndexRecord.class));
    assertSame(
        Class.forName("net.openhft.chronicle.hash.VanillaGlobalMutableState$$Native"),
        Values.nativeClassFor(VanillaGlobalMutableState.class));
  }

  /** Compares the checked-in source of one implementation with the generator's text. */
  private static void check(Class<?> valueType, boolean nativeImpl) throws Exception {
    String simpleName = valueType.getSimpleName() + (nativeImpl ? "$$Native" : "$$Heap");
    // Generators is package-private: reached by reflection (the classpath's unnamed module).
    Class<?> generators = Class.forName("net.openhft.chronicle.values.Generators");
    Method generate =
        generators.getDeclaredMethod(
            nativeImpl ? "generateNativeClass" : "generateHeapClass", ValueModel.class, String.class);
    generate.setAccessible(true);
    String expected = (String) generate.invoke(null, ValueModel.acquire(valueType), simpleName);
    Path rel = Path.of(valueType.getPackageName().replace('.', '/'), simpleName + ".java");
    String actual = withoutAdditions(Files.readAllLines(SOURCES.resolve(rel)));
    if (!expected.equals(actual)) {
      Path regenerated = OUT.resolve(rel);
      Files.createDirectories(regenerated.getParent());
      Files.writeString(regenerated, expected);
    }
    assertEquals(
        expected,
        actual,
        "Chronicle Values now generates another " + simpleName + ": see target/pregenerated/" + rel);
  }

  /** The checked-in text less its leading comment and the added {@code @SuppressWarnings} line. */
  private static String withoutAdditions(List<String> lines) {
    int start = 0;
    while (start < lines.size() && lines.get(start).startsWith("//")) {
      start++;
    }
    return lines.subList(start, lines.size()).stream()
            .filter(l -> !l.equals("@SuppressWarnings(\"rawtypes\")"))
            .collect(Collectors.joining("\n"))
        + "\n";
  }
}
