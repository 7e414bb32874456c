package io.kvstore.server.net;

import io.kvstore.client.protocol.FrameDecoder;
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
 * made of (spec §3.6).
 */
final class KvStoreServerInitializer extends ChannelInitializer<Channel> {

  private final ServerContext context;
  private final ConnectionLimitHandler connectionLimit;

  KvStoreServerInitializer(ServerContext context) {
    this.context = context;
    this.connectionLimit = new ConnectionLimitHandler(context);
  }

  /** The shared connection limit stage (for the open-connection count). */
  ConnectionLimitHandler connectionLimit() {
    return connectionLimit;
  }

  @Override
  protected void initChannel(Channel ch) {
    FlowControlHandler flow = new FlowControlHandler(context.config.maxInflightBytes(), context.metrics);
    RequestHandler requests = new RequestHandler(context, flow);
    ChannelPipeline p = ch.pipeline();
    // connection limit: over max connections, or during shutdown, accepted and closed at once
    p.addLast("connection-limit", connectionLimit);
    // framing: bytes -> whole frames (retained slices) or InvalidFrame records, never exceptions
    p.addLast("frame-decoder", FrameDecoder.forDaemon(context.config.maxFrameBytes(),
        context.frameBuffers));
    // flow control: stop reading above the in-flight bytes limit or when the socket is not writable
    p.addLast("flow-control", flow);
    // handshake/auth: HELLO -> version, token, namespace, timeout; removes itself once done
    p.addLast("handshake", new HandshakeHandler(context, flow, requests));
    // request dispatch: every operation of spec 3 over the TieredStore
    p.addLast("requests", requests);
  }
}
