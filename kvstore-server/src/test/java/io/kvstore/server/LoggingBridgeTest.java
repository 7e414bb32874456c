package io.kvstore.server;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The core logs through {@link System.Logger} (it depends on no logging library); in the daemon
 * those lines must reach slf4j, the daemon's one logging path, so that an operator sees the SSD
 * tier's degraded WARN in the same format and stream as every other line.
 */
class LoggingBridgeTest {

  @Test
  void shouldRouteTheCoresSystemLoggerToSlf4j() {
    System.Logger core = System.getLogger("io.kvstore.core.store.StoreCloser");
    String finder = System.LoggerFinder.getLoggerFinder().getClass().getName();
    assertTrue(finder.startsWith("org.slf4j."), "System.LoggerFinder is " + finder);
    assertTrue(core.getClass().getName().startsWith("org.slf4j."), core.getClass().getName());
    // slf4j-simple's level for the daemon is INFO (simplelogger.properties): the close summary
    // and the degraded WARN are printed, debug chatter is not.
    assertTrue(core.isLoggable(System.Logger.Level.INFO));
    assertTrue(!core.isLoggable(System.Logger.Level.DEBUG));
  }
}
