package io.kvstore.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.Opcode;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Every {@link KvStoreClientTest} again with blocking calls on caller-driven connections ({@link
 * SyncConnection}: shared memory off, {@link KvStoreClientBuilder#callerDrivenIo} on, the
 * default), so the round trips, timeouts, retries, errors and argument checks of the blocking API
 * hold on that path too. The async calls in those tests keep the pipelined path.
 */
class CallerDrivenKvStoreClientTest extends KvStoreClientTest {

  @Override
  KvStoreClientBuilder builder() {
    return super.builder().sharedMemory(false).callerDrivenIo(true);
  }

  /**
   * A caller-driven connection whose call timed out is closed, so the late ERROR is never read
   * (the pipelined path reads and drops it: {@code discardedFrames}); what matters on both paths
   * is that it is not blamed on the next call.
   */
  @Override
  @Test
  void shouldNotBlameTheConnectionForTheLateErrorOfATimedOutRequest() throws InterruptedException {
    KvStoreClient client = connect(builder().connections(1).maxRetries(0)
        .requestTimeout(Duration.ofMillis(150)));
    // Open the caller-driven connection first: its HELLO counts against the call that opens it,
    // and with every answer 400 ms late a 150 ms call could not open one.
    assertEquals(0, client.lookup(new long[] {1, 1}).runLength());
    daemon.responseDelayMs = 400;
    daemon.errors.put(Opcode.LOOKUP, ErrorCode.OVERLOADED);
    assertEquals(ErrorCode.CLIENT_TIMEOUT,
        assertThrows(KvStoreException.class, () -> client.lookup(new long[] {1, 1})).code());
    daemon.responseDelayMs = 0;
    Thread.sleep(500); // the late ERROR has been sent, to a connection the client closed
    assertEquals(0, client.lookup(new long[] {1, 1}).runLength());
    daemon.faults.put(Opcode.DELETE, FakeDaemon.Fault.CLOSE);
    KvStoreException e = assertThrows(KvStoreException.class, () -> client.delete(new long[] {1, 1}));
    assertEquals(ErrorCode.CONNECTION_CLOSED, e.code(), e.getMessage());
  }
}
