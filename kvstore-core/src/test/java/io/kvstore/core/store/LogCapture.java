package io.kvstore.core.store;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;

/**
 * The lines a class logs (through {@code System.Logger}, hence JUL here) while it is open; for the
 * tests of every package of the store.
 */
public final class LogCapture implements AutoCloseable {

  private final Logger jul;
  private final List<String> lines = new CopyOnWriteArrayList<>();
  private final List<String> warnings = new CopyOnWriteArrayList<>();
  private final Handler handler =
      new Handler() {
        @Override
        public void publish(LogRecord r) {
          String line = new SimpleFormatter().formatMessage(r);
          lines.add(line);
          if (r.getLevel().intValue() >= Level.WARNING.intValue()) {
            warnings.add(line);
          }
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
      };

  public LogCapture(Class<?> of) {
    this.jul = Logger.getLogger(of.getName());
    jul.addHandler(handler);
  }

  /** The messages logged so far, formatted. */
  public List<String> lines() {
    return lines;
  }

  /** Those of level WARNING and above (a live list: it grows as they come). */
  public List<String> warnings() {
    return warnings;
  }

  @Override
  public void close() {
    jul.removeHandler(handler);
  }
}
