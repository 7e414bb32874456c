package io.kvstore.server.config;

/**
 * A configuration the daemon cannot start with. The message is meant for the operator as is: it
 * names the setting, where it was set (file and line, environment variable or flag), the bad value
 * and the expected form.
 */
public final class ConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /**
   * Makes the exception.
   *
   * @param message the complete, operator-facing message
   */
  public ConfigException(String message) {
    super(message);
  }

  /**
   * Makes the exception with a cause.
   *
   * @param message the complete, operator-facing message
   * @param cause what went wrong underneath (an I/O error reading the file)
   */
  public ConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
