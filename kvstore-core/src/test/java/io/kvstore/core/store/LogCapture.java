package io.kvstore.core.store;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;

/** The lines a class logs (through {@code System.Logger}, hence JUL here) while it is open. */
final class LogCapture implements AutoCloseable {

  private final Logger jul;
  private final List<String> lines = new CopyOnWriteArrayList<>();
  private final Handler handler =
      new Handler() {
        @Override
        public void publish(LogRecord r) {
          lines.add(new SimpleFormatter().formatMessage(r));
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
      };

  LogCapture(Class<?> of) {
    this.jul = Logger.getLogger(of.getName());
    jul.addHandler(handler);
  }

  /** The messages logged so far, formatted. */
  List<String> lines() {
    return lines;
  }

  @Override
  public void close() {
    jul.removeHandler(handler);
  }
}
