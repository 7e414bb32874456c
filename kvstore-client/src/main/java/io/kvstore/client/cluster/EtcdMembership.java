package io.kvstore.client.cluster;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * Members registered in etcd under {@code /kvstore/NAME/members/}, read through etcd's HTTP/JSON
 * gateway ({@code POST /v3/kv/range}, served by etcd 3.4 and later) with the JDK's HTTP client.
 *
 * <p><b>Why not jetcd or a watch:</b> the SDK links into inference engines and must stay light and
 * need no JVM flags; jetcd brings gRPC, Vert.x and protobuf. A serializable range read of a few
 * keys every poll interval (500 ms by default) is served from the etcd member's memory, and it
 * doubles as the liveness check of etcd: a watch stream that hangs on a half-open TCP connection
 * would hide an unreachable etcd. A member whose lease expired is gone within one poll interval.
 *
 * <p>One daemon thread polls. When etcd cannot be read (every endpoint tried), the last members
 * are kept, one warning is logged, {@link #isStale()} turns true and {@link #staleEvents()} counts
 * it; the first successful read after that logs that etcd is back.
 */
public final class EtcdMembership implements Membership {

  private static final System.Logger LOG = System.getLogger(EtcdMembership.class.getName());

  private final ClusterUri uri;
  private final Duration poll;
  private final HttpClient http;
  private final String rangeBody;
  private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
  private final Thread poller;
  private volatile List<Member> members = List.of();
  private volatile boolean stale;
  private volatile long staleEvents;
  private volatile boolean closed;
  private int endpoint;

  /**
   * Reads the members once (so a client starts with them) and starts polling.
   *
   * @param uri an {@code etcd://} cluster address
   * @param poll interval between reads
   */
  public EtcdMembership(ClusterUri uri, Duration poll) {
    if (!uri.isEtcd()) {
      throw new IllegalArgumentException("not an etcd cluster address: " + uri);
    }
    if (poll.isNegative() || poll.isZero()) {
      throw new IllegalArgumentException("poll interval must be positive");
    }
    this.uri = uri;
    this.poll = poll;
    this.http = HttpClient.newBuilder().connectTimeout(requestTimeout()).build();
    byte[] prefix = uri.memberPrefix().getBytes(StandardCharsets.UTF_8);
    Base64.Encoder b64 = Base64.getEncoder();
    this.rangeBody = "{\"key\":\"" + b64.encodeToString(prefix) + "\",\"range_end\":\""
        + b64.encodeToString(prefixEnd(prefix)) + "\",\"serializable\":true}";
    refresh();
    this.poller = new Thread(this::run, "kvstore-etcd-membership-" + uri.name());
    poller.setDaemon(true);
    poller.start();
  }

  private Duration requestTimeout() {
    // Long enough for a loaded etcd and a busy client host (the first request also sets up the
    // HTTP client), short enough that a hung endpoint does not hold the poll for long.
    return Duration.ofMillis(Math.max(2_000, Math.min(5_000, 2 * poll.toMillis())));
  }

  /** The key after every key with this prefix: the prefix with its last byte incremented. */
  static byte[] prefixEnd(byte[] prefix) {
    byte[] end = prefix.clone();
    for (int i = end.length - 1; i >= 0; i--) {
      if (end[i] != (byte) 0xff) {
        end[i]++;
        return java.util.Arrays.copyOf(end, i + 1);
      }
    }
    return new byte[] {0}; // all 0xff: to the end of the key space
  }

  private void run() {
    while (!closed) {
      try {
        TimeUnit.NANOSECONDS.sleep(poll.toNanos());
      } catch (InterruptedException e) {
        return; // closed
      }
      refresh();
    }
  }

  /** One read of the member list from the first endpoint that answers. */
  private void refresh() {
    List<String> endpoints = uri.endpoints();
    Exception last = null;
    for (int attempt = 0; attempt < endpoints.size() && !closed; attempt++) {
      String ep = endpoints.get(endpoint);
      try {
        update(read(ep));
        if (stale) {
          stale = false;
          LOG.log(Level.INFO, "etcd at {0} readable again: {1} member(s) in cluster {2}",
              ep, members.size(), uri.name());
        }
        return;
      } catch (IOException | RuntimeException e) {
        last = e;
        endpoint = (endpoint + 1) % endpoints.size();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
    if (!stale && !closed) {
      stale = true;
      staleEvents++;
      LOG.log(Level.WARNING, "etcd unreachable at " + endpoints + " (" + last
          + "): keeping the last membership of " + members.size() + " member(s) of cluster " + uri.name());
    }
  }

  private List<Member> read(String ep) throws IOException, InterruptedException {
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://" + ep + "/v3/kv/range"))
        .timeout(requestTimeout())
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(rangeBody))
        .build();
    HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() != 200) {
      throw new IOException("etcd answered HTTP " + response.statusCode() + ": " + response.body());
    }
    return parseRange(response.body());
  }

  /** The members in a range response; a record that does not parse is skipped with a warning. */
  static List<Member> parseRange(String json) {
    Object root = MiniJson.parse(json);
    if (!(root instanceof Map<?, ?> map)) {
      throw new IllegalArgumentException("etcd range response is not an object");
    }
    List<Member> list = new ArrayList<>();
    Object kvs = map.get("kvs");
    if (kvs == null) {
      return list; // etcd omits an empty kvs
    }
    if (!(kvs instanceof List<?> entries)) {
      throw new IllegalArgumentException("etcd range response: kvs is not a list");
    }
    Base64.Decoder b64 = Base64.getDecoder();
    for (Object o : entries) {
      if (!(o instanceof Map<?, ?> kv) || !(kv.get("value") instanceof String value)) {
        continue;
      }
      try {
        list.add(MemberRecord.decode(b64.decode(value)));
      } catch (IllegalArgumentException e) {
        LOG.log(Level.WARNING, "skipping a member record that does not parse: " + e.getMessage());
      }
    }
    list.sort(Comparator.comparing(Member::id));
    return list;
  }

  private void update(List<Member> next) {
    if (next.equals(members)) {
      return;
    }
    List<Member> before = members;
    members = List.copyOf(next);
    LOG.log(Level.INFO, "cluster {0}: {1} member(s) {2} (was {3})", uri.name(), next.size(),
        next.stream().map(Member::id).toList(), before.stream().map(Member::id).toList());
    for (Runnable listener : listeners) {
      listener.run();
    }
  }

  @Override
  public List<Member> members() {
    return members;
  }

  @Override
  public boolean isStale() {
    return stale;
  }

  @Override
  public long staleEvents() {
    return staleEvents;
  }

  @Override
  public void onChange(Runnable listener) {
    listeners.add(listener);
  }

  @Override
  public void close() {
    closed = true;
    poller.interrupt();
    try {
      poller.join(TimeUnit.SECONDS.toMillis(5));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
