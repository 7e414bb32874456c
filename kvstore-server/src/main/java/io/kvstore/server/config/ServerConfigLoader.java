package io.kvstore.server.config;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * Merges the daemon's configuration from four layers, each overriding the one before it, key by
 * key: built-in defaults &lt; configuration file &lt; environment variables &lt; command-line flags.
 *
 * <p>The file is {@code --config FILE} if given, else {@code $KVSTORE_CONFIG} if set, else
 * {@code kvstore.conf} in the working directory if it exists, else none. Its format (see
 * {@code docs/configuration.md}): UTF-8 lines of {@code key = value}; blank lines and lines whose
 * first non-blank character is {@code #} or {@code !} are ignored; spaces around key and value are
 * trimmed; no quoting, escapes or continuation lines. An unknown or repeated key is an error that
 * names the line.
 *
 * <p>Every bad value is reported, not just the first, each naming the key, where it was set, the
 * value and the expected form. Tokens of auth grants are never echoed.
 */
public final class ServerConfigLoader {

  /** Prefix of every environment variable the daemon reads. */
  public static final String ENV_PREFIX = "KVSTORE_";
  /** Environment variable naming the configuration file (when {@code --config} is not given). */
  public static final String CONFIG_FILE_ENV = "KVSTORE_CONFIG";
  /** File looked for in the working directory when no file is named. */
  public static final String DEFAULT_FILE_NAME = "kvstore.conf";
  /** File key prefix of auth grants: {@code auth.token.NAME = TOKEN:NAMESPACES}. */
  public static final String AUTH_TOKEN_KEY_PREFIX = "auth.token.";
  /** Environment variable prefix of auth grants: {@code KVSTORE_AUTH_TOKEN_NAME=TOKEN:NAMESPACES}. */
  public static final String AUTH_TOKEN_ENV_PREFIX = "KVSTORE_AUTH_TOKEN_";
  /** Flag of auth grants, repeatable: {@code --auth-token NAME=TOKEN:NAMESPACES}. */
  public static final String AUTH_TOKEN_FLAG = "--auth-token";
  /** {@code KVSTORE_*} variables that are not settings but are read by the launcher or the loader. */
  public static final Set<String> OTHER_KNOWN_ENV =
      Set.of(CONFIG_FILE_ENV, "KVSTORE_JAVA_OPTS", "KVSTORE_REBUILD", "KVSTORE_CLASS_ARCHIVE");

  private Path configFile;
  private Map<String, String> environment = Map.of();
  private final Map<ConfigKey, String> flags = new EnumMap<>(ConfigKey.class);
  private final List<String> authTokenFlags = new ArrayList<>();
  private Path workingDir = Path.of("");

  /** A value as written, with where it came from. */
  private static final class Raw {
    final String value;
    final ConfigSource source;
    final String origin;

    Raw(String value, ConfigSource source, String origin) {
      this.value = value;
      this.source = source;
      this.origin = origin;
    }
  }

  /**
   * Names the configuration file explicitly ({@code --config}); it must exist.
   *
   * @param file the file, or null for the default lookup
   * @return this
   */
  public ServerConfigLoader configFile(Path file) {
    configFile = file;
    return this;
  }

  /**
   * Sets the environment to read ({@code System.getenv()} in the daemon, a map in tests).
   *
   * @param env the environment
   * @return this
   */
  public ServerConfigLoader environment(Map<String, String> env) {
    environment = Map.copyOf(env);
    return this;
  }

  /**
   * Sets the directory where {@code kvstore.conf} is looked for (the process's working directory
   * by default).
   *
   * @param dir the directory
   * @return this
   */
  public ServerConfigLoader workingDir(Path dir) {
    workingDir = Objects.requireNonNull(dir, "dir");
    return this;
  }

  /**
   * Sets a setting from a command-line flag.
   *
   * @param key the setting
   * @param raw the flag's argument as typed
   * @return this
   */
  public ServerConfigLoader flag(ConfigKey key, String raw) {
    flags.put(key, Objects.requireNonNull(raw, "raw"));
    return this;
  }

  /**
   * Adds an auth grant from the command line.
   *
   * @param nameAndGrant {@code NAME=TOKEN:NAMESPACES}
   * @return this
   */
  public ServerConfigLoader authTokenFlag(String nameAndGrant) {
    authTokenFlags.add(Objects.requireNonNull(nameAndGrant, "nameAndGrant"));
    return this;
  }

  /**
   * Merges the layers and checks the result.
   *
   * @return the configuration and where each setting came from
   * @throws ConfigException listing every problem found
   */
  public LoadedConfig load() {
    List<String> errors = new ArrayList<>();
    List<String> warnings = new ArrayList<>();
    Map<ConfigKey, Raw> settings = new EnumMap<>(ConfigKey.class);
    Map<String, Raw> grants = new TreeMap<>();

    Path file = resolveFile();
    if (file != null) {
      readFile(file, settings, grants, errors);
    }
    readEnvironment(settings, grants, warnings);
    for (Map.Entry<ConfigKey, String> e : flags.entrySet()) {
      settings.put(e.getKey(), new Raw(e.getValue(), ConfigSource.FLAG, "flag " + e.getKey().flag()));
    }
    for (String f : authTokenFlags) {
      int eq = f.indexOf('=');
      if (eq < 0) {
        errors.add("bad " + AUTH_TOKEN_FLAG + " argument: expected NAME=TOKEN:NAMESPACES");
        continue;
      }
      grants.put(grantKey(f.substring(0, eq)),
          new Raw(f.substring(eq + 1), ConfigSource.FLAG, "flag " + AUTH_TOKEN_FLAG));
    }

    ServerConfigBuilder builder = ServerConfig.builder();
    Map<ConfigKey, ConfigSource> sources = new EnumMap<>(ConfigKey.class);
    for (ConfigKey key : ConfigKey.values()) {
      Raw raw = settings.get(key);
      sources.put(key, raw == null ? ConfigSource.DEFAULT : raw.source);
      if (raw != null) {
        try {
          key.apply(builder, raw.value);
        } catch (IllegalArgumentException e) {
          errors.add("bad value '" + raw.value.strip() + "' for " + key.fileKey() + " (from "
              + raw.origin + "): " + e.getMessage());
        }
      }
    }
    Map<String, ConfigSource> grantSources = new LinkedHashMap<>();
    List<AuthGrant> parsedGrants = new ArrayList<>();
    for (Map.Entry<String, Raw> e : grants.entrySet()) {
      try {
        parsedGrants.add(AuthGrant.parse(e.getKey(), e.getValue().value));
        grantSources.put(AuthGrant.normalizeName(e.getKey()), e.getValue().source);
      } catch (IllegalArgumentException ex) {
        // The value holds a secret: say what is wrong with it, never what it is.
        errors.add("bad auth grant '" + e.getKey() + "' (from " + e.getValue().origin + "): "
            + ex.getMessage());
      }
    }
    if (errors.isEmpty()) {
      try {
        builder.authGrants(AuthGrants.of(parsedGrants));
        ServerConfig config = builder.build();
        return new LoadedConfig(config, file, sources, grantSources, warnings);
      } catch (IllegalArgumentException e) {
        errors.add("inconsistent configuration: " + e.getMessage());
      }
    }
    throw new ConfigException(errors.size() == 1
        ? "Invalid configuration: " + errors.get(0)
        : "Invalid configuration (" + errors.size() + " problems):\n  " + String.join("\n  ", errors));
  }

  private Path resolveFile() {
    if (configFile != null) {
      return requireFile(configFile, "flag --config");
    }
    String fromEnv = environment.get(CONFIG_FILE_ENV);
    if (fromEnv != null) {
      if (fromEnv.isBlank()) {
        throw new ConfigException("Invalid configuration: environment variable " + CONFIG_FILE_ENV
            + " is set but empty; expected the path of a configuration file");
      }
      return requireFile(Path.of(fromEnv.strip()), "environment variable " + CONFIG_FILE_ENV);
    }
    Path implicit = workingDir.resolve(DEFAULT_FILE_NAME);
    return Files.isRegularFile(implicit) ? implicit.toAbsolutePath().normalize() : null;
  }

  private static Path requireFile(Path file, String origin) {
    Path abs = file.toAbsolutePath().normalize();
    if (!Files.exists(abs)) {
      throw new ConfigException(
          "Invalid configuration: configuration file " + abs + " (from " + origin + ") does not exist");
    }
    if (!Files.isRegularFile(abs)) {
      throw new ConfigException(
          "Invalid configuration: " + abs + " (from " + origin + ") is not a regular file");
    }
    return abs;
  }

  private static void readFile(Path file, Map<ConfigKey, Raw> settings, Map<String, Raw> grants,
      List<String> errors) {
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (CharacterCodingException e) {
      throw new ConfigException("Invalid configuration: " + file + " is not valid UTF-8", e);
    } catch (IOException e) {
      throw new ConfigException("Invalid configuration: cannot read " + file + ": " + e, e);
    }
    Map<String, Integer> seenOnLine = new TreeMap<>();
    for (int i = 0; i < lines.size(); i++) {
      int lineNo = i + 1;
      String line = lines.get(i).strip();
      if (line.isEmpty() || line.startsWith("#") || line.startsWith("!")) {
        continue;
      }
      String where = file + " line " + lineNo;
      int eq = line.indexOf('=');
      if (eq <= 0) {
        errors.add(where + ": expected 'key = value', got '" + abbreviate(line) + "'");
        continue;
      }
      String key = line.substring(0, eq).strip();
      String value = line.substring(eq + 1).strip();
      Integer earlier = seenOnLine.putIfAbsent(key, lineNo);
      if (earlier != null) {
        errors.add(where + ": key '" + key + "' is already set on line " + earlier);
        continue;
      }
      if (key.startsWith(AUTH_TOKEN_KEY_PREFIX)) {
        grants.put(grantKey(key.substring(AUTH_TOKEN_KEY_PREFIX.length())),
            new Raw(value, ConfigSource.FILE, where));
        continue;
      }
      ConfigKey k = ConfigKey.ofFileKey(key);
      if (k == null) {
        errors.add(where + ": unknown key '" + key + "'" + suggestion(key));
        continue;
      }
      settings.put(k, new Raw(value, ConfigSource.FILE, where));
    }
  }

  private void readEnvironment(Map<ConfigKey, Raw> settings, Map<String, Raw> grants,
      List<String> warnings) {
    Map<String, String> sorted = new TreeMap<>(environment);
    Map<String, ConfigKey> byEnv = new TreeMap<>();
    for (ConfigKey k : ConfigKey.values()) {
      byEnv.put(k.envVar(), k);
    }
    for (Map.Entry<String, String> e : sorted.entrySet()) {
      String name = e.getKey();
      if (!name.startsWith(ENV_PREFIX) || OTHER_KNOWN_ENV.contains(name)) {
        continue;
      }
      String origin = "environment variable " + name;
      ConfigKey key = byEnv.get(name);
      if (key != null) {
        settings.put(key, new Raw(e.getValue(), ConfigSource.ENV, origin));
      } else if (name.startsWith(AUTH_TOKEN_ENV_PREFIX)) {
        grants.put(grantKey(name.substring(AUTH_TOKEN_ENV_PREFIX.length())),
            new Raw(e.getValue(), ConfigSource.ENV, origin));
      } else {
        // Not an error: the environment is shared with other tools that may use the prefix.
        warnings.add("ignoring unknown environment variable " + name + suggestionEnv(name, byEnv));
      }
    }
  }

  /** Grant names are case-insensitive; an invalid one is kept as written so its error names it. */
  private static String grantKey(String name) {
    try {
      return AuthGrant.normalizeName(name);
    } catch (IllegalArgumentException e) {
      return name;
    }
  }

  private static String suggestion(String key) {
    String best = null;
    int bestDistance = 3;
    for (ConfigKey k : ConfigKey.values()) {
      int d = distance(key, k.fileKey());
      if (d < bestDistance) {
        bestDistance = d;
        best = k.fileKey();
      }
    }
    return best == null ? "; see docs/configuration.md for the keys" : "; did you mean '" + best + "'?";
  }

  private static String suggestionEnv(String name, Map<String, ConfigKey> byEnv) {
    for (String known : byEnv.keySet()) {
      if (distance(name, known) <= 2) {
        return " (did you mean " + known + "?)";
      }
    }
    return "";
  }

  /** Levenshtein distance, for "did you mean" hints on typos. */
  static int distance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }

  private static String abbreviate(String s) {
    return s.length() <= 60 ? s : s.substring(0, 57) + "...";
  }
}
