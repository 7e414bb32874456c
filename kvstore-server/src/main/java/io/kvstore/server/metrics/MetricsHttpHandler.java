package io.kvstore.server.metrics;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.ReferenceCountUtil;
import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One connection of the {@link MetricsHttpServer}: routes whole requests, answers them one at a
 * time in order, and keeps the request deadline. Runs on the server's event loop; everything here
 * but the scrape (handed to the scrape thread) is a few field reads.
 *
 * <p>The deadline is armed when the connection opens and after each answer is written, and
 * disarmed when a whole request has arrived: a client has {@code requestTimeout} to send each
 * request, however it trickles the bytes. While an answer is pending the connection does not read
 * (auto-read off), so a client cannot queue work faster than it takes answers; requests already
 * decoded from the last read (HTTP pipelining) wait in a queue of {@link #MAX_PIPELINED}, beyond
 * which the connection is closed.
 */
final class MetricsHttpHandler extends ChannelInboundHandlerAdapter {

  static final int MAX_PIPELINED = 4;
  private static final String TEXT = "text/plain; charset=utf-8";
  private static final String JSON = "application/json";

  private final MetricsRegistry registry;
  private final Health health;
  private final Executor scrapes;
  private final long requestTimeoutNanos;

  private final ArrayDeque<FullHttpRequest> queued = new ArrayDeque<>();
  private ScheduledFuture<?> deadline;
  private boolean busy;

  MetricsHttpHandler(MetricsRegistry registry, Health health, Executor scrapes, Duration requestTimeout) {
    this.registry = registry;
    this.health = health;
    this.scrapes = scrapes;
    this.requestTimeoutNanos = requestTimeout.toNanos();
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    armDeadline(ctx);
    ctx.fireChannelActive();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    disarmDeadline();
    FullHttpRequest r;
    while ((r = queued.poll()) != null) {
      r.release();
    }
    ctx.fireChannelInactive();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof FullHttpRequest request)) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (!busy) {
      handle(ctx, request);
    } else if (queued.size() < MAX_PIPELINED) {
      queued.add(request);
    } else {
      request.release();
      ctx.close(); // a client that pipelines without reading: no more work for it
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    // A write timeout, a reset by the peer, a decoder failure: the connection is of no more use,
    // and nothing here concerns the daemon (no log line per misbehaving client).
    ctx.close();
  }

  private void handle(ChannelHandlerContext ctx, FullHttpRequest request) {
    busy = true;
    disarmDeadline();
    ctx.channel().config().setAutoRead(false);
    boolean keepAlive;
    HttpMethod method;
    String path;
    String accept;
    boolean badRequest;
    try {
      badRequest = request.decoderResult().isFailure();
      keepAlive = !badRequest && HttpUtil.isKeepAlive(request);
      method = request.method();
      path = new QueryStringDecoder(request.uri()).path();
      accept = request.headers().get(HttpHeaderNames.ACCEPT);
    } finally {
      request.release();
    }
    boolean head = HttpMethod.HEAD.equals(method);
    if (badRequest) {
      send(ctx, HttpResponseStatus.BAD_REQUEST, TEXT, "bad request\n", false, false);
    } else if (!HttpMethod.GET.equals(method) && !head) {
      send(ctx, HttpResponseStatus.METHOD_NOT_ALLOWED, TEXT, "method not allowed\n", false, keepAlive);
    } else if (path.equals("/metrics")) {
      scrape(ctx, accept, head, keepAlive);
    } else if (path.equals("/health") || path.equals("/health/")) {
      ready(ctx, false, head, keepAlive);
    } else if (path.equals("/health/ready")) {
      ready(ctx, true, head, keepAlive);
    } else if (path.equals("/health/live")) {
      send(ctx, HttpResponseStatus.OK, JSON, "{\"status\":\"live\"}\n", head, keepAlive);
    } else {
      send(ctx, HttpResponseStatus.NOT_FOUND, TEXT,
          "not found: try /metrics, /health, /health/live or /health/ready\n", head, keepAlive);
    }
  }

  private void ready(ChannelHandlerContext ctx, boolean json, boolean head, boolean keepAlive) {
    String body;
    try {
      body = json ? health.json() : health.text();
    } catch (RuntimeException e) {
      // A broken probe is a bug, not a state: say so (500) rather than guess ready or not.
      send(ctx, HttpResponseStatus.INTERNAL_SERVER_ERROR, TEXT, "health probe failed: " + e + "\n",
          head, keepAlive);
      return;
    }
    HttpResponseStatus status =
        health.isReady() ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE;
    send(ctx, status, json ? JSON : TEXT, body, head, keepAlive);
  }

  private void scrape(ChannelHandlerContext ctx, String accept, boolean head, boolean keepAlive) {
    ExpositionFormatWriter writer = MetricsRegistry.writerFor(accept);
    try {
      scrapes.execute(() -> {
        ByteArrayOutputStream out = new ByteArrayOutputStream(32 * 1024);
        HttpResponseStatus status;
        String type;
        try {
          registry.write(out, writer);
          status = HttpResponseStatus.OK;
          type = writer.getContentType();
        } catch (Exception | LinkageError e) {
          // A failing callback must not end the exchange silently: say why, so it shows in the
          // scraper's target status.
          out.reset();
          out.writeBytes(("scrape failed: " + e + "\n").getBytes(StandardCharsets.UTF_8));
          status = HttpResponseStatus.INTERNAL_SERVER_ERROR;
          type = TEXT;
        }
        byte[] body = out.toByteArray();
        HttpResponseStatus s = status;
        String t = type;
        try {
          ctx.executor().execute(() -> send(ctx, s, t, body, head, keepAlive));
        } catch (RejectedExecutionException stopped) {
          // The server is closing: its event loop is gone, and the connection with it.
        }
      });
    } catch (RejectedExecutionException e) {
      send(ctx, HttpResponseStatus.SERVICE_UNAVAILABLE, TEXT,
          "too many scrapes at once; try again\n", head, keepAlive);
    }
  }

  private void send(ChannelHandlerContext ctx, HttpResponseStatus status, String type, String body,
      boolean head, boolean keepAlive) {
    send(ctx, status, type, body.getBytes(StandardCharsets.UTF_8), head, keepAlive);
  }

  private void send(ChannelHandlerContext ctx, HttpResponseStatus status, String type, byte[] body,
      boolean head, boolean keepAlive) {
    if (!ctx.channel().isActive()) {
      return;
    }
    ByteBuf content = head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body);
    FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, content);
    response.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, type)
        .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
    if (status == HttpResponseStatus.METHOD_NOT_ALLOWED) {
      response.headers().set(HttpHeaderNames.ALLOW, "GET, HEAD");
    }
    if (!keepAlive) {
      response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    }
    ctx.writeAndFlush(response).addListener(f -> {
      if (!f.isSuccess() || !keepAlive) {
        ctx.close();
        return;
      }
      busy = false;
      FullHttpRequest next = queued.poll();
      if (next != null) {
        handle(ctx, next);
      } else {
        armDeadline(ctx);
        ctx.channel().config().setAutoRead(true);
      }
    });
  }

  private void armDeadline(ChannelHandlerContext ctx) {
    disarmDeadline();
    deadline = ctx.executor().schedule(() -> {
      ctx.close(); // no whole request within the timeout: a stalled, slow or idle client
    }, requestTimeoutNanos, TimeUnit.NANOSECONDS);
  }

  private void disarmDeadline() {
    if (deadline != null) {
      deadline.cancel(false);
      deadline = null;
    }
  }
}
