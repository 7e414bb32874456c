package io.kvstore.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** docs/configuration.md documents every setting with its real spellings and default. */
class ConfigurationDocTest {

  private static final Path DOC = Path.of("..", "docs", "configuration.md");
  private static final Map<String, String[]> ROWS = new HashMap<>();
  private static String text;

  @TempDir Path dir;

  @BeforeAll
  static void readTable() throws IOException {
    text = Files.readString(DOC, StandardCharsets.UTF_8);
    for (String line : text.split("\n")) {
      if (line.startsWith("| `")) {
        String[] cells = line.split("\\|");
        String[] stripped = new String[cells.length - 1];
        for (int i = 1; i < cells.length; i++) {
          stripped[i - 1] = cells[i].strip().replace("`", "");
        }
        ROWS.put(stripped[0], stripped);
      }
    }
  }

  @ParameterizedTest
  @EnumSource(ConfigKey.class)
  void shouldDocumentEveryKeyWithItsFlagEnvironmentVariableAndDefault(ConfigKey key) {
    String[] row = ROWS.get(key.fileKey());
    assertNotNull(row, "docs/configuration.md has no table row for " + key.fileKey());
    assertEquals(key.flag(), row[1]);
    assertEquals(key.envVar(), row[2]);
    // The documented default, read as a flag would be, gives the built-in default.
    ServerConfig documented = new ServerConfigLoader().workingDir(dir).flag(key, row[3]).load().config();
    assertEquals(key.render(ServerConfig.defaults()), key.render(documented),
        "documented default of " + key.fileKey() + " is " + row[3]);
  }

  @Test
  void shouldDocumentAuthGrantsAndTheOtherEnvironmentVariables() {
    assertNotNull(ROWS.get("auth.token.NAME"));
    assertTrue(ROWS.get("auth.token.NAME")[1].startsWith(ServerConfigLoader.AUTH_TOKEN_FLAG + " "));
    assertEquals(ServerConfigLoader.AUTH_TOKEN_ENV_PREFIX + "NAME", ROWS.get("auth.token.NAME")[2]);
    for (String env : ServerConfigLoader.OTHER_KNOWN_ENV) {
      assertTrue(ROWS.containsKey(env), env + " is not documented");
    }
    assertTrue(text.contains("**A command-line flag overrides an environment\nvariable, which"
        + " overrides the configuration file, which overrides the built-in default.**"));
  }

  @Test
  void shouldHaveAnExampleFileThatLoads() throws IOException {
    int start = text.indexOf("```properties\n");
    int end = text.indexOf("```", start + 14);
    assertTrue(start >= 0 && end > start, "no ```properties example in the doc");
    Path file = dir.resolve("example.conf");
    Files.writeString(file, text.substring(start + 14, end));
    LoadedConfig loaded = new ServerConfigLoader().workingDir(dir).configFile(file).load();
    assertEquals(32L << 30, loaded.config().dramBytes());
    assertEquals(List.of("engine_a", "engine_b", "ops"),
        loaded.config().authGrants().grants().stream().map(AuthGrant::name).toList());
  }
}
