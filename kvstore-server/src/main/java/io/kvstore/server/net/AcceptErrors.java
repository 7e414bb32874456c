package io.kvstore.server.net;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last handler of the listening socket's pipeline, after Netty's acceptor: it receives the
 * errors of {@code accept} (EMFILE: the process is out of file descriptors; ENFILE, ENOMEM) once
 * the acceptor has paused accepting for a second. Without it each one reached the pipeline's tail,
 * which logged a WARN with a stack trace once a second for as long as the descriptors stayed
 * exhausted (seen with {@code ulimit -n 200} and 150 idle sockets held). Counted ({@code
 * kvstore_accept_failures_total}) and logged at most once per 10 s, without a stack trace.
 */
final class AcceptErrors extends ChannelInboundHandlerAdapter {

  private static final Logger LOG = LoggerFactory.getLogger(AcceptErrors.class);

  private final NetCounters counters;
  private final RateLimitedLog log = new RateLimitedLog(LOG);

  AcceptErrors(NetCounters counters) {
    this.counters = counters;
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    counters.acceptFailed();
    log.warn("cannot accept a connection on {}: {} (accepting pauses for 1 s and resumes; out of"
        + " file descriptors? see ulimit -n)", ctx.channel().localAddress(), String.valueOf(cause));
  }
}
