package io.kvstore.server.cluster;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.support.CloseableClient;
import io.grpc.stub.StreamObserver;
import io.kvstore.client.cluster.ClusterUri;
import io.kvstore.client.cluster.Member;
import io.kvstore.client.cluster.MemberRecord;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps this daemon registered in etcd (spec §5.2): a lease of {@code ttl} seconds, the member
 * record under {@code /kvstore/NAME/members/ID} attached to it, and jetcd's keep-alive. A killed
 * daemon stops renewing and etcd deletes its key when the lease expires; {@link #close()} revokes
 * the lease, which deletes the key at once.
 *
 * <p>etcd being unreachable never stops the daemon from serving: registration is retried every
 * second in the background (one warning per outage), and a lost lease (expired while etcd or the
 * network was away) is replaced by a new one. All etcd work runs on one thread of this class.
 */
public final class EtcdRegistration implements AutoCloseable, ClusterMetrics.Source {

  private static final Logger LOG = LoggerFactory.getLogger(EtcdRegistration.class);
  private static final long RETRY_MS = 1_000;
  private static final long CALL_TIMEOUT_MS = 5_000;

  private final Member self;
  private final long ttlSeconds;
  private final ByteSequence key;
  private final ByteSequence value;
  private final Client client;
  private final ScheduledExecutorService worker;
  private final String endpoints;
  // touched only on the worker thread (and in close, after the worker stopped)
  private long leaseId;
  private CloseableClient keepAlive;
  private boolean warned;
  private volatile boolean registered;
  private volatile boolean closed;
  // Counted for the daemon's metrics (kvstore_cluster_*): written on the worker, read by scrapes.
  private final AtomicLong registrations = new AtomicLong();
  private final AtomicLong failedAttempts = new AtomicLong();
  private final AtomicLong leasesLost = new AtomicLong();

  /**
   * Starts registering {@code self} in the cluster {@code uri} (in the background).
   *
   * @param uri an {@code etcd://} cluster address
   * @param self this daemon as clients should reach it
   * @param ttl the lease's time to live: how long a killed daemon stays listed
   */
  public EtcdRegistration(ClusterUri uri, Member self, Duration ttl) {
    if (!uri.isEtcd()) {
      throw new IllegalArgumentException("not an etcd cluster address: " + uri);
    }
    this.self = self;
    this.ttlSeconds = Math.max(1, ttl.toSeconds());
    this.key = ByteSequence.from(uri.memberPrefix() + self.id(), StandardCharsets.UTF_8);
    this.value = ByteSequence.from(MemberRecord.encode(self));
    this.endpoints = String.join(",", uri.endpoints());
    this.client = Client.builder()
        .endpoints(uri.endpoints().stream().map(e -> "http://" + e).toArray(String[]::new))
        .build();
    this.worker = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "kvstore-etcd-registration");
      t.setDaemon(true);
      return t;
    });
    worker.execute(this::register);
  }

  /** Whether the member key is in etcd under a live lease (as far as this daemon knows). */
  @Override
  public boolean registered() {
    return registered;
  }

  /** Times this daemon registered in etcd (the first time and after each lost lease). */
  @Override
  public long registrations() {
    return registrations.get();
  }

  /** Attempts to register that failed (etcd unreachable, a call timed out or was refused). */
  @Override
  public long failedAttempts() {
    return failedAttempts.get();
  }

  /** Leases lost after registering (expired, revoked, keep-alive stream failed). */
  @Override
  public long leasesLost() {
    return leasesLost.get();
  }

  /** This daemon as registered. */
  public Member self() {
    return self;
  }

  private void register() {
    if (closed) {
      return;
    }
    try {
      long lease = client.getLeaseClient().grant(ttlSeconds)
          .get(CALL_TIMEOUT_MS, TimeUnit.MILLISECONDS).getID();
      leaseId = lease;
      client.getKVClient().put(key, value, PutOption.builder().withLeaseId(lease).build())
          .get(CALL_TIMEOUT_MS, TimeUnit.MILLISECONDS);
      keepAlive = client.getLeaseClient().keepAlive(lease, new Observer(lease));
      registered = true;
      registrations.incrementAndGet();
      warned = false;
      LOG.info("registered as {} in etcd {} ({}; lease {} s)", self.id(), endpoints, key, ttlSeconds);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      failedAttempts.incrementAndGet();
      if (!warned) {
        warned = true;
        LOG.warn("cannot register in etcd {} ({}); serving anyway, retrying every {} ms",
            endpoints, e.toString(), RETRY_MS);
      }
      retryLater();
    }
  }

  private void retryLater() {
    if (!closed) {
      worker.schedule(this::register, RETRY_MS, TimeUnit.MILLISECONDS);
    }
  }

  /** The lease is gone (expired, revoked, stream failed): drop it and register again. */
  private void leaseLost(long lease, String why) {
    if (closed || lease != leaseId) {
      return;
    }
    registered = false;
    leasesLost.incrementAndGet();
    LOG.warn("etcd lease {} of {} lost ({}); registering again", Long.toHexString(lease), self.id(), why);
    if (keepAlive != null) {
      keepAlive.close();
      keepAlive = null;
    }
    retryLater();
  }

  /** Keep-alive answers arrive on a gRPC thread; the reaction runs on the worker. */
  private final class Observer implements StreamObserver<LeaseKeepAliveResponse> {
    private final long lease;

    Observer(long lease) {
      this.lease = lease;
    }

    @Override
    public void onNext(LeaseKeepAliveResponse response) {
      if (response.getTTL() <= 0) {
        submit(() -> leaseLost(lease, "expired"));
      }
    }

    @Override
    public void onError(Throwable t) {
      submit(() -> leaseLost(lease, t.toString()));
    }

    @Override
    public void onCompleted() {
      submit(() -> leaseLost(lease, "keep-alive ended"));
    }

    private void submit(Runnable r) {
      if (!closed) {
        try {
          worker.execute(r);
        } catch (java.util.concurrent.RejectedExecutionException e) {
          // closing: nothing to re-register
        }
      }
    }
  }

  /**
   * Deregisters: revokes the lease (etcd deletes the member key at once, so clients stop routing
   * here before the daemon stops serving) and closes the etcd client. Waits at most a few seconds
   * when etcd is unreachable; the lease then expires on its own. Idempotent.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    worker.shutdownNow();
    try {
      worker.awaitTermination(CALL_TIMEOUT_MS, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (keepAlive != null) {
      keepAlive.close();
    }
    if (registered) {
      try {
        client.getLeaseClient().revoke(leaseId).get(CALL_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        LOG.info("deregistered {} from etcd", self.id());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (Exception e) {
        LOG.warn("could not deregister {} from etcd ({}); its lease expires within {} s",
            self.id(), e.toString(), ttlSeconds);
      }
    }
    registered = false;
    client.close();
  }
}
