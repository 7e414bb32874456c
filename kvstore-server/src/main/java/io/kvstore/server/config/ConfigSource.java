package io.kvstore.server.config;

/** Where a setting's effective value came from, lowest precedence first. */
public enum ConfigSource {
  /** The built-in default ({@code ServerConfig.*_DEFAULT}). */
  DEFAULT,
  /** The configuration file. */
  FILE,
  /** An environment variable {@code KVSTORE_*}. */
  ENV,
  /** A command-line flag. */
  FLAG;

  /** Lower-case name for printing, e.g. {@code env}. */
  public String label() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
