package io.kvstore.client;

import io.kvstore.client.protocol.BatchDoneFlyweight;
import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.ErrorFlyweight;
import io.kvstore.client.protocol.FrameDecoder;
import io.kvstore.client.protocol.FrameDescriptor;
import io.kvstore.client.protocol.GetPageFlyweight;
import io.kvstore.client.protocol.HelloFlyweight;
import io.kvstore.client.protocol.HelloOkFlyweight;
import io.kvstore.client.protocol.InvalidFrame;
import io.kvstore.client.protocol.KeyBatchFlyweight;
import io.kvstore.client.protocol.LookupOkFlyweight;
import io.kvstore.client.protocol.Opcode;
import io.kvstore.client.protocol.PingFlyweight;
import io.kvstore.client.protocol.PrefetchOkFlyweight;
import io.kvstore.client.protocol.PutFlyweight;
import io.kvstore.client.protocol.PutOkFlyweight;
import io.kvstore.client.protocol.StatsFlyweight;
import io.kvstore.common.BlockKey;
import io.kvstore.common.PageFormat;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A daemon double for SDK tests: speaks the protocol with the same codec, keeps pages in a map,
 * and can be told to misbehave (stay silent, answer with an error, close, corrupt a page) on the
 * next request of a given opcode. GET pages are sent in reverse key order, so the client is tested
 * against out-of-order answers.
 */
final class FakeDaemon implements AutoCloseable {

  /** One-shot misbehaviours, keyed by request opcode. */
  enum Fault { SILENT, CLOSE }

  final Map<BlockKey, byte[]> pages = new ConcurrentHashMap<>();
  final Map<Integer, AtomicInteger> received = new ConcurrentHashMap<>();
  final Map<Integer, Fault> faults = new ConcurrentHashMap<>();
  final Map<Integer, Integer> errors = new ConcurrentHashMap<>();
  final ConcurrentLinkedQueue<BlockKey> corruptOnce = new ConcurrentLinkedQueue<>();
  final AtomicInteger connectionsAccepted = new AtomicInteger();
  /**
   * Responses waiting out {@code responseDelayMs}, each in a holder of its own (a ByteBuf's equals
   * compares bytes): whoever takes it out of its holder owns it, to send or to release.
   */
  private final Set<AtomicReference<ByteBuf>> delayed = ConcurrentHashMap.newKeySet();
  volatile String authToken = "";
  /**
   * When > 0, every connection's answers go out as a stream cut into pieces of 1 to this many
   * bytes, each flushed alone about 100 µs after the one before, so the client's reads end at
   * every kind of place inside and between frames.
   */
  volatile int trickleMaxBytes;
  volatile int maxBatch = 65536;
  volatile int maxPageLength = 32 << 20;
  volatile long maxInFlightBytes = 256L << 20;
  volatile long responseDelayMs;
  /** Answer nothing after HELLO (a stopped or partitioned daemon that keeps its sockets). */
  volatile boolean silent;
  /**
   * Answer nothing at all, HELLO included: a stopped daemon, whose kernel still accepts new
   * connections into its backlog.
   */
  volatile boolean stopped;
  /** Stop reading from each connection once its HELLO is answered, until {@link #resumeReads}. */
  volatile boolean stallReadsAfterHello;
  /** Connections stalled by {@link #stallReadsAfterHello}, in the order they were stalled. */
  final List<Channel> stalled = new CopyOnWriteArrayList<>();
  final Set<Channel> open = ConcurrentHashMap.newKeySet();
  /** Bytes read from every connection. */
  final AtomicLong bytesRead = new AtomicLong();

  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final Channel server;

  FakeDaemon() throws InterruptedException {
    this(0);
  }

  /** A daemon on {@code port} (0: any free port), e.g. the port of one that was closed. */
  FakeDaemon(int port) throws InterruptedException {
    server = new ServerBootstrap()
        .group(group)
        .channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            connectionsAccepted.incrementAndGet();
            open.add(ch);
            ch.closeFuture().addListener(f -> open.remove(ch));
            ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
              @Override
              public void channelRead(ChannelHandlerContext ctx, Object msg) {
                bytesRead.addAndGet(((ByteBuf) msg).readableBytes());
                ctx.fireChannelRead(msg);
              }
            }, FrameDecoder.forDaemon(64 << 20), new Handler());
          }
        })
        .childOption(ChannelOption.SO_RCVBUF, 64 << 10)
        .option(ChannelOption.SO_REUSEADDR, true)
        .bind(new InetSocketAddress("127.0.0.1", port)).sync().channel();
  }

  int port() {
    return ((InetSocketAddress) server.localAddress()).getPort();
  }

  int received(int opcode) {
    return received.computeIfAbsent(opcode, k -> new AtomicInteger()).get();
  }

  /** Stores a page as the test's reference copy. */
  void putPage(ByteBuffer page) {
    byte[] bytes = new byte[page.remaining()];
    page.duplicate().get(bytes);
    ByteBuffer view = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    pages.put(new BlockKey(PageFormat.keyHi(view, 0), PageFormat.keyLo(view, 0)), bytes);
  }

  /** Lets the stalled connections read again. */
  void resumeReads() {
    stallReadsAfterHello = false;
    for (Channel ch : stalled) {
      ch.config().setAutoRead(true);
    }
  }

  @Override
  public void close() {
    for (Channel ch : open) {
      ch.close();
    }
    server.close().syncUninterruptibly();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    for (AtomicReference<ByteBuf> holder : delayed) { // their sends never ran: the loops are gone
      ByteBuf response = holder.getAndSet(null);
      if (response != null) {
        response.release();
      }
    }
    delayed.clear();
  }

  private final class Handler extends SimpleChannelInboundHandler<Object> {
    private final KeyBatchFlyweight batch = new KeyBatchFlyweight();
    private final PutFlyweight put = new PutFlyweight();
    private final HelloFlyweight hello = new HelloFlyweight();
    private final PingFlyweight ping = new PingFlyweight();
    private long namespaceId;
    /** Answers not yet trickled out ({@link #trickleMaxBytes}); event-loop only. */
    private final java.util.ArrayDeque<ByteBuf> trickle = new java.util.ArrayDeque<>();
    private final java.util.Random pieces = new java.util.Random(42);
    private boolean trickling;

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof InvalidFrame invalid) {
        ctx.writeAndFlush(ErrorFlyweight.encode(
            ctx.alloc(), invalid.requestId(), invalid.errorCode(), invalid.message()));
        if (invalid.closeConnection()) {
          ctx.close();
        }
        return;
      }
      ByteBuf frame = (ByteBuf) msg;
      int opcode = FrameDescriptor.opcode(frame, frame.readerIndex());
      long id = FrameDescriptor.requestId(frame, frame.readerIndex());
      received.computeIfAbsent(opcode, k -> new AtomicInteger()).incrementAndGet();
      if ((silent && opcode != Opcode.HELLO) || stopped) {
        return;
      }
      Fault fault = faults.remove(opcode);
      if (fault == Fault.SILENT) {
        return;
      }
      if (fault == Fault.CLOSE) {
        ctx.close();
        return;
      }
      Integer error = errors.remove(opcode);
      if (error != null) {
        send(ctx, ErrorFlyweight.encode(ctx.alloc(), id, error, "told to fail"));
        if (ErrorCode.closesConnection(error)) {
          ctx.close();
        }
        return;
      }
      switch (opcode) {
        case Opcode.HELLO -> {
          hello.wrap(frame);
          if (!new String(hello.token(), java.nio.charset.StandardCharsets.UTF_8).equals(authToken)) {
            ctx.writeAndFlush(ErrorFlyweight.encode(ctx.alloc(), id, ErrorCode.AUTH_FAILED, "bad token"))
                .addListener(f -> ctx.close());
            return;
          }
          namespaceId = hello.namespaceId();
          if (stallReadsAfterHello) { // before HELLO_OK: the client finds it stalled
            ctx.channel().config().setAutoRead(false);
            stalled.add(ctx.channel());
          }
          send(ctx, HelloOkFlyweight.encode(ctx.alloc(), id, 1, 64 << 20, maxBatch, maxPageLength,
              maxInFlightBytes, 99));
        }
        case Opcode.PING -> {
          ping.wrap(frame);
          send(ctx, PingFlyweight.encode(ctx.alloc(), Opcode.PONG, id, ping.payload()));
        }
        case Opcode.LOOKUP -> {
          batch.wrap(frame);
          int run = 0;
          while (run < batch.keyCount() && pages.containsKey(key(run))) {
            run++;
          }
          send(ctx, LookupOkFlyweight.encode(ctx.alloc(), id, run, new int[] {0, run, 0}, 3));
        }
        case Opcode.GET -> get(ctx, frame, id);
        case Opcode.PUT -> put(ctx, frame, id);
        case Opcode.PREFETCH -> {
          batch.wrap(frame);
          int present = 0;
          for (int i = 0; i < batch.keyCount(); i++) {
            present += pages.containsKey(key(i)) ? 1 : 0;
          }
          send(ctx, PrefetchOkFlyweight.encode(ctx.alloc(), id, batch.keyCount(), present));
        }
        case Opcode.DELETE -> {
          batch.wrap(frame);
          long[] misses = new long[BatchDoneFlyweight.missWords(batch.keyCount())];
          for (int i = 0; i < batch.keyCount(); i++) {
            if (pages.remove(key(i)) == null) {
              misses[i >>> 6] |= 1L << i;
            }
          }
          send(ctx, BatchDoneFlyweight.encode(ctx.alloc(), Opcode.DELETE_OK, id, batch.keyCount(), misses));
        }
        case Opcode.STATS -> send(ctx, StatsFlyweight.encodeResponse(ctx.alloc(), id,
            "pages " + pages.size() + "\n"));
        default -> send(ctx, ErrorFlyweight.encode(ctx.alloc(), id, ErrorCode.UNKNOWN_OPCODE, "?"));
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
      for (ByteBuf b; (b = trickle.poll()) != null; ) {
        b.release();
      }
      super.channelInactive(ctx);
    }

    /** Sends the next piece of the trickled stream, and schedules the one after. */
    private void tricklePiece(ChannelHandlerContext ctx) {
      ByteBuf head = trickle.peek();
      if (head == null || !ctx.channel().isActive()) {
        trickling = false;
        return;
      }
      int n = Math.min(head.readableBytes(), 1 + pieces.nextInt(Math.max(1, trickleMaxBytes)));
      ctx.writeAndFlush(head.readRetainedSlice(n));
      if (!head.isReadable()) {
        trickle.poll().release();
      }
      ctx.executor().schedule(() -> tricklePiece(ctx), 100, TimeUnit.MICROSECONDS);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close(); // a client went away mid-write: nothing to report in a test double
    }

    private BlockKey key(int i) {
      return new BlockKey(batch.keyHi(i), batch.keyLo(i));
    }

    private void get(ChannelHandlerContext ctx, ByteBuf frame, long id) {
      batch.wrap(frame);
      int count = batch.keyCount();
      boolean prefix = (batch.flags() & Opcode.FLAG_GET_PREFIX) != 0;
      long[] misses = new long[BatchDoneFlyweight.missWords(count)];
      int stopAt = count;
      for (int i = 0; i < count; i++) {
        if (!pages.containsKey(key(i)) && prefix) {
          stopAt = i;
          break;
        }
      }
      for (int i = count - 1; i >= 0; i--) { // reverse order: answers out of order
        byte[] page = i < stopAt ? pages.get(key(i)) : null;
        if (page == null) {
          misses[i >>> 6] |= 1L << i;
          continue;
        }
        ByteBuf pageBuf = Unpooled.copiedBuffer(page);
        if (corruptOnce.remove(key(i))) {
          int last = pageBuf.writerIndex() - 1;
          pageBuf.setByte(last, pageBuf.getByte(last) ^ 0x5A);
        }
        send(ctx, GetPageFlyweight.encode(ctx.alloc(), id, i, pageBuf));
      }
      send(ctx, BatchDoneFlyweight.encode(ctx.alloc(), Opcode.GET_DONE, id, count, misses));
    }

    private void put(ChannelHandlerContext ctx, ByteBuf frame, long id) {
      put.wrap(frame);
      int count = put.pageCount();
      int[] statuses = new int[count];
      int cursor = put.firstPage();
      for (int i = 0; i < count; i++, cursor = put.nextPage(cursor)) {
        int length = put.pageLength(cursor);
        ByteBuffer page = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        frame.getBytes(put.pageIndex(cursor), page);
        int check = PageFormat.verify(page, 0, length);
        if (check != PageFormat.OK) {
          statuses[i] = check == PageFormat.ERR_PAYLOAD_CRC || check == PageFormat.ERR_HEADER_CRC
              ? ErrorCode.BAD_CHECKSUM : ErrorCode.MALFORMED_PAGE;
        } else if (PageFormat.namespaceId(page, 0) != namespaceId) {
          statuses[i] = ErrorCode.NAMESPACE_DENIED;
        } else if (length > maxPageLength) {
          statuses[i] = ErrorCode.PAGE_TOO_LARGE;
        } else {
          pages.put(new BlockKey(PageFormat.keyHi(page, 0), PageFormat.keyLo(page, 0)),
              Arrays.copyOf(page.array(), length));
        }
      }
      send(ctx, PutOkFlyweight.encode(ctx.alloc(), id, count, statuses));
    }

    private void send(ChannelHandlerContext ctx, ByteBuf response) {
      if (trickleMaxBytes > 0) {
        trickle.add(response);
        if (!trickling) {
          trickling = true;
          tricklePiece(ctx);
        }
        return;
      }
      long delay = responseDelayMs;
      if (delay > 0) {
        AtomicReference<ByteBuf> holder = new AtomicReference<>(response);
        delayed.add(holder);
        ctx.executor().schedule(() -> {
          delayed.remove(holder);
          ByteBuf mine = holder.getAndSet(null);
          if (mine != null) {
            ctx.writeAndFlush(mine);
          }
        }, delay, TimeUnit.MILLISECONDS);
      } else {
        ctx.writeAndFlush(response);
      }
    }
  }
}
