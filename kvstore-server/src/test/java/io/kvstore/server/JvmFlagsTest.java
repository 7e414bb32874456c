package io.kvstore.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.NodeList;

/**
 * The JVM flags the store needs are defined once, in the parent pom's {@code kvstore.jvm.flags};
 * the launchers read them from {@code bin/jvm-flags}, which must hold exactly the same list. This
 * test is what keeps the two equal.
 */
class JvmFlagsTest {

  /** Surefire runs tests in the module directory; the repository root is its parent. */
  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

  @Test
  void shouldHaveTheParentPomFlagsInBinJvmFlags() throws Exception {
    List<String> pomFlags = split(pomProperty("kvstore.jvm.flags"));
    List<String> lines = Files.readAllLines(ROOT.resolve("bin/jvm-flags"), StandardCharsets.UTF_8);
    assertEquals(1, lines.size(), "bin/jvm-flags must be exactly one line");
    assertEquals(pomFlags, split(lines.get(0)),
        "bin/jvm-flags differs from the parent pom's kvstore.jvm.flags: copy the property's value");
    assertFalse(pomFlags.isEmpty());
  }

  @Test
  void shouldRunTestsWithTheSameFlags() throws IOException {
    List<String> binFlags = split(Files.readString(ROOT.resolve("bin/jvm-flags"), StandardCharsets.UTF_8));
    String forForks = System.getProperty("kvstore.jvm.flags");
    assertTrue(forForks != null, "surefire did not pass the system property kvstore.jvm.flags");
    assertTrue(split(forForks).containsAll(binFlags), forForks);
    List<String> thisJvm = ManagementFactory.getRuntimeMXBean().getInputArguments();
    assertTrue(thisJvm.containsAll(binFlags), "test JVM arguments " + thisJvm);
  }

  private static List<String> split(String flags) {
    String s = flags.strip();
    return s.isEmpty() ? List.of() : Arrays.asList(s.split("\\s+"));
  }

  private static String pomProperty(String name) throws Exception {
    DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
    f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
    Document pom = f.newDocumentBuilder().parse(ROOT.resolve("pom.xml").toFile());
    NodeList properties = pom.getDocumentElement().getElementsByTagName("properties");
    NodeList values = ((org.w3c.dom.Element) properties.item(0)).getElementsByTagName(name);
    assertEquals(1, values.getLength(), "parent pom has no single <" + name + "> property");
    String value = values.item(0).getTextContent();
    Matcher unresolved = Pattern.compile("\\$\\{").matcher(value);
    assertFalse(unresolved.find(), "kvstore.jvm.flags must not reference other properties");
    return value;
  }
}
