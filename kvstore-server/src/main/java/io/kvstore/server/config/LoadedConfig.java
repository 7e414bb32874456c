package io.kvstore.server.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The result of {@link ServerConfigLoader#load()}: the configuration, the file it read (if any),
 * where each setting came from, and warnings worth printing at start.
 *
 * @param config the merged configuration
 * @param file the configuration file read (absolute), or null when none was
 * @param sources where each setting's value came from
 * @param grantSources where each auth grant came from, by grant name
 * @param warnings things the operator should know that do not stop the daemon
 */
public record LoadedConfig(ServerConfig config, Path file, Map<ConfigKey, ConfigSource> sources,
    Map<String, ConfigSource> grantSources, List<String> warnings) {

  /** Copies the collections, so the record stays immutable. */
  public LoadedConfig {
    sources = Map.copyOf(sources);
    grantSources = Map.copyOf(grantSources);
    warnings = List.copyOf(warnings);
  }

  /** The configuration file read, if any. */
  public Optional<Path> configFile() {
    return Optional.ofNullable(file);
  }

  /**
   * The effective configuration, one line per setting, for the start-up log: e.g.
   * {@code dram.bytes = 1GiB (default)}. Auth grants are listed by name and namespaces, never with
   * their tokens.
   *
   * @return the lines
   */
  public List<String> describe() {
    List<String> lines = new ArrayList<>();
    lines.add("config file = " + (file == null ? "(none: built-in defaults)" : file.toString()));
    for (ConfigKey key : ConfigKey.values()) {
      lines.add(key.fileKey() + " = " + key.render(config) + " (" + sources.get(key).label() + ")");
    }
    AuthGrants grants = config.authGrants();
    if (grants.enabled()) {
      for (AuthGrant g : grants.grants()) {
        lines.add("auth grant " + g + " (" + grantSources.get(g.name()).label() + ")");
      }
    } else {
      lines.add("auth = off");
    }
    return lines;
  }
}
