package io.kvstore.server.net;

import io.kvstore.server.net.NetCounters.Refusal;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.AttributeKey;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * First stage of every connection: who may hold a connection slot ({@code
 * spec/3-wire-protocol.md} §3.6), so that no one client can take every slot.
 *
 * <ul>
 *   <li>At most {@code max.connections} connections in all. A new connection over it closes the
 *       oldest connection that has not completed its HELLO, if there is one, else it is refused.
 *   <li>Before HELLO: at most {@code net.preauth.connections.per.address} per remote address (a new
 *       one closes that address's oldest unauthenticated connection) and at most half of {@code
 *       max.connections} in all (a new one closes the oldest). Unauthenticated connections are
 *       cheap to make, so they are the ones that give way: a flood of idle connections that never
 *       send HELLO cannot keep a real client out, it only makes the flood churn.
 *   <li>After HELLO: at most {@code net.connections.per.token} per token (per namespace when auth
 *       is off); {@link #authenticated} refuses the one over it (CONNECTION_LIMIT).
 *   <li>While the daemon shuts down, every new connection is closed at once.
 * </ul>
 *
 * The bookkeeping is a few map operations under one lock (no I/O under it); closes happen outside
 * it. Refusals are counted in {@link NetCounters} and logged at WARN at most once per 10 s per kind.
 * One instance serves every connection.
 */
@Sharable
final class ConnectionLimitHandler extends ChannelInboundHandlerAdapter {

  private static final Logger LOG = LoggerFactory.getLogger(ConnectionLimitHandler.class);
  /** Set on a connection that was counted, so that only those are uncounted when they close. */
  private static final AttributeKey<Boolean> COUNTED = AttributeKey.valueOf("kvstore.counted");
  /** The token (or namespace) key of an authenticated connection. */
  private static final AttributeKey<String> CLIENT = AttributeKey.valueOf("kvstore.client");

  private final ServerContext context;
  private final int maxConnections;
  private final int maxPreauth;
  private final int maxPreauthPerAddress;
  private final int maxPerClient;
  private final RateLimitedLog refusedLog = new RateLimitedLog(LOG);
  private final RateLimitedLog evictedLog = new RateLimitedLog(LOG);
  private final RateLimitedLog clientLog = new RateLimitedLog(LOG);
  // Guarded by this.
  private int open;
  private final LinkedHashSet<Channel> preauth = new LinkedHashSet<>();
  private final Map<InetAddress, Integer> preauthPerAddress = new HashMap<>();
  private final Map<String, Integer> perClient = new HashMap<>();

  ConnectionLimitHandler(ServerContext context) {
    this.context = context;
    this.maxConnections = context.config.maxConnections();
    this.maxPreauth = Math.max(1, maxConnections / 2);
    this.maxPreauthPerAddress = context.config.maxPreauthConnectionsPerAddress();
    this.maxPerClient = context.config.maxConnectionsPerToken();
  }

  /** Connections open now that were let through. */
  synchronized int open() {
    return open;
  }

  /** Connections open now that have not completed their HELLO. */
  synchronized int unauthenticated() {
    return preauth.size();
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) throws Exception {
    Channel ch = ctx.channel();
    if (context.shuttingDown()) {
      context.counters.refused(Refusal.SHUTTING_DOWN);
      ctx.close();
      return;
    }
    InetAddress address = address(ch.remoteAddress());
    List<Channel> evicted = new ArrayList<>(2);
    boolean admitted;
    synchronized (this) {
      if (address != null && preauthPerAddress.getOrDefault(address, 0) >= maxPreauthPerAddress) {
        evictOldest(address, evicted);
      }
      if (preauth.size() >= maxPreauth) {
        evictOldest(null, evicted);
      }
      if (open >= maxConnections) {
        evictOldest(null, evicted);
      }
      admitted = open < maxConnections;
      if (admitted) {
        open++;
        preauth.add(ch);
        if (address != null) {
          preauthPerAddress.merge(address, 1, Integer::sum);
        }
      }
    }
    for (Channel old : evicted) {
      context.channels.remove(old);
      context.metrics.connectionClosed();
      context.counters.refused(Refusal.PREAUTH_EVICTED);
      evictedLog.warn("closing an unauthenticated connection from {} to make room for {}",
          old.remoteAddress(), ch.remoteAddress());
      old.close();
    }
    if (!admitted) {
      context.counters.refused(Refusal.TOTAL_LIMIT);
      refusedLog.warn("refusing connection from {}: the limit of {} connections is reached",
          ch.remoteAddress(), maxConnections);
      ctx.close();
      return;
    }
    ch.attr(COUNTED).set(Boolean.TRUE);
    context.channels.add(ch);
    context.metrics.connectionOpened();
    super.channelActive(ctx);
  }

  /**
   * Moves a connection from unauthenticated to its client's count after a good HELLO.
   *
   * @param client the token's grant name, or the namespace when auth is off
   * @return false if the client already holds {@code net.connections.per.token} connections (the
   *     caller refuses it with CONNECTION_LIMIT; it stays counted until it closes)
   */
  boolean authenticated(Channel ch, String client) {
    InetAddress address = address(ch.remoteAddress());
    boolean ok;
    synchronized (this) {
      if (preauth.remove(ch) && address != null) {
        preauthPerAddress.computeIfPresent(address, (k, n) -> n == 1 ? null : n - 1);
      }
      int held = perClient.getOrDefault(client, 0);
      ok = held < maxPerClient;
      if (ok) {
        perClient.put(client, held + 1);
        ch.attr(CLIENT).set(client);
      }
    }
    if (!ok) {
      context.counters.refused(Refusal.PER_TOKEN_LIMIT);
      clientLog.warn("refusing a connection of {}: it holds the limit of {} connections", client,
          maxPerClient);
    }
    return ok;
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    Channel ch = ctx.channel();
    // Uncounted apart: a connection evicted (uncounted) while its HELLO succeeded still holds a
    // place in its client's count until it closes.
    String client = ch.attr(CLIENT).getAndSet(null);
    boolean counted = ch.attr(COUNTED).getAndSet(null) != null;
    if (counted || client != null) {
      InetAddress address = address(ch.remoteAddress());
      synchronized (this) {
        if (counted) {
          open--;
          if (preauth.remove(ch) && address != null) {
            preauthPerAddress.computeIfPresent(address, (k, n) -> n == 1 ? null : n - 1);
          }
        }
        if (client != null) {
          perClient.computeIfPresent(client, (k, n) -> n == 1 ? null : n - 1);
        }
      }
    }
    if (counted) {
      context.channels.remove(ch);
      context.metrics.connectionClosed();
    }
    super.channelInactive(ctx);
  }

  /** Takes the oldest unauthenticated connection (of {@code address}, or any) off the books. */
  private void evictOldest(InetAddress address, List<Channel> evicted) {
    for (Iterator<Channel> it = preauth.iterator(); it.hasNext(); ) {
      Channel c = it.next();
      InetAddress a = address(c.remoteAddress());
      // Uncounted here, or by its own channelInactive if that got there first (then skip it).
      if ((address == null || address.equals(a)) && c.attr(COUNTED).getAndSet(null) != null) {
        it.remove();
        if (a != null) {
          preauthPerAddress.computeIfPresent(a, (k, n) -> n == 1 ? null : n - 1);
        }
        evicted.add(c);
        open--;
        return;
      }
    }
  }

  private static InetAddress address(SocketAddress remote) {
    return remote instanceof InetSocketAddress isa ? isa.getAddress() : null;
  }
}
