package io.kvstore.server.net;

import io.kvstore.client.protocol.FrameDecoder;
import io.kvstore.client.protocol.FrameReadAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;

/**
 * The pipeline of every client connection, one stage per line. Inbound bytes go down the list;
 * responses written by the handshake and request stages go back up through flow control.
 *
 * <p>Typed on {@link Channel}, not a socket channel, so that tests can run this very pipeline in an
 * {@code EmbeddedChannel}.
 *
 * <p>Flow control sits right after the decoder rather than last: there it sees each request as one
 * whole frame and every response written by the stages below it, which is what its byte count is
 * made of (spec §3.6). The timeouts and the memory budget sit before the decoder: they see every
 * read, and the budget stage can hold back the decoder's own requests for more bytes.
 */
final class KvStoreServerInitializer extends ChannelInitializer<Channel> {

  private final ServerContext context;

  KvStoreServerInitializer(ServerContext context) {
    this.context = context;
  }

  /** The shared connection limit stage (for the open-connection count). */
  ConnectionLimitHandler connectionLimit() {
    return context.limits;
  }

  @Override
  protected void initChannel(Channel ch) {
    FlowControlHandler flow = new FlowControlHandler(context.config.maxInflightBytes(), context.metrics);
    RequestHandler requests = new RequestHandler(context, flow);
    FrameDecoder decoder = FrameDecoder.forDaemonHandshake(context.config.maxFrameBytes(),
        context.frameBuffers);
    TimeoutHandler timeouts = new TimeoutHandler(context, decoder, flow, requests);
    // socket reads of a large frame's body go straight into the buffer the frame is kept in
    ch.config().setRecvByteBufAllocator(FrameReadAllocator.forDaemon(decoder));
    ChannelPipeline p = ch.pipeline();
    // connection slots: total, per address before HELLO (oldest unauthenticated gives way), shutdown
    p.addLast("connection-limit", context.limits);
    // timeouts: a frame begun must complete, responses must drain, idle connections close
    p.addLast("timeouts", timeouts);
    // request memory: this connection's share of the daemon-wide budget; holds back reads when spent
    p.addLast("memory-budget", new MemoryBudgetHandler(context.budget, context.counters, decoder, flow));
    // framing: bytes -> whole frames (retained slices) or InvalidFrame records, never exceptions;
    // a HELLO-sized max frame until the handshake succeeds
    p.addLast("frame-decoder", decoder);
    // flow control: stop reading above the in-flight bytes limit or when the socket is not writable
    p.addLast("flow-control", flow);
    // handshake/auth: HELLO -> version, token, namespace, limits; removes itself once done
    p.addLast("handshake", new HandshakeHandler(context, flow, requests, decoder, timeouts));
    // request dispatch: every operation of spec 3 over the store, in the connection's namespace
    p.addLast("requests", requests);
  }
}
