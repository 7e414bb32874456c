package io.kvstore.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The messages of a daemon that cannot listen, and the protocol port's check before the store opens. */
class CannotStartExceptionTest {

  @Test
  void shouldNameAnAddressThisHostDoesNotHave() throws Exception {
    // 192.0.2.0/24 is TEST-NET-1: never assigned to an interface. A host that allows binding
    // non-local addresses (net.ipv4.ip_nonlocal_bind = 1) binds it: nothing to refuse there.
    Path nonlocal = Path.of("/proc/sys/net/ipv4/ip_nonlocal_bind");
    assumeTrue(!Files.exists(nonlocal) || Files.readString(nonlocal).trim().equals("0"),
        "this host lets a process bind addresses it does not have");
    CannotStartException e = assertThrows(CannotStartException.class,
        () -> KvStoreDaemon.checkProtocolPortFree("192.0.2.1", 7421));
    assertEquals("cannot listen for the kvstore protocol on 192.0.2.1:7421: this host has no such"
        + " address", e.getMessage());
  }

  @Test
  void shouldAcceptAFreePortAndLeaveItFree() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    KvStoreDaemon.checkProtocolPortFree("127.0.0.1", port);
    try (ServerSocket again = new ServerSocket()) {
      again.setReuseAddress(true);
      again.bind(new InetSocketAddress("127.0.0.1", port)); // the probe did not keep it
    }
    KvStoreDaemon.checkProtocolPortFree("127.0.0.1", 0); // any free port: nothing to check
  }

  @Test
  void shouldKeepAnUnknownReasonAsItCameAndTheCause() {
    BindException cause = new BindException("Protocol not available");
    CannotStartException e = CannotStartException.bindFailed("the kvstore protocol", "::1", 7421,
        cause, "port, --port");
    assertEquals("cannot listen for the kvstore protocol on [::1]:7421: Protocol not available",
        e.getMessage());
    assertSame(cause, e.getCause());
  }

  @Test
  void shouldSayPrivilegedPortsNeedPrivileges() {
    CannotStartException e = CannotStartException.bindFailed("the kvstore protocol", "0.0.0.0", 80,
        new BindException("Permission denied"), "port, --port");
    assertEquals("cannot listen for the kvstore protocol on 0.0.0.0:80: permission denied (ports"
        + " below 1024 need privileges)", e.getMessage());
  }
}
