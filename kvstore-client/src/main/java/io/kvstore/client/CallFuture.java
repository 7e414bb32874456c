package io.kvstore.client;

import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The future an SDK call returns. Whatever completes it — the daemon's answer, a failure, or the
 * caller through {@link #cancel}, {@link #complete}, {@link #completeExceptionally} (and so {@link
 * #orTimeout}) — it is done only once the SDK will not touch the call's buffers again.
 *
 * <p>A completion by the caller first stops the call: the request in flight is settled (late pages
 * are discarded, never copied; no retry starts) and the method waits until the request's buffers
 * are free: at once for everything but a zero-copy PUT whose frame Netty is still writing; for that
 * one until the write ends, which the request timeout bounds (the connection is closed at the
 * timeout to end it). On one of the SDK's own I/O threads it cannot wait: {@code cancel} then
 * returns false and the future completes with the {@link CancellationException} once the write has
 * ended.
 *
 * <p>A call made of several requests (a PUT split into frames, the token API's mapped results)
 * stops all of them.
 */
final class CallFuture<T> extends CompletableFuture<T> {

  private final BooleanSupplier onIoThread;
  private final List<CallFuture<?>> parts;
  private boolean stopping; // guarded by this
  private PendingRequest<?> current; // guarded by this

  /** A call of one request at a time (retries replace it). */
  CallFuture(BooleanSupplier onIoThread) {
    this(onIoThread, List.of());
  }

  private CallFuture(BooleanSupplier onIoThread, List<CallFuture<?>> parts) {
    this.onIoThread = onIoThread;
    this.parts = parts;
  }

  /** A call done when all of {@code parts} are, with {@code result}'s value; stopping it stops them. */
  static <T> CallFuture<T> allOf(
      BooleanSupplier onIoThread, List<CallFuture<?>> parts, Supplier<T> result) {
    CallFuture<T> call = new CallFuture<>(onIoThread, List.copyOf(parts));
    CompletableFuture.allOf(parts.toArray(new CompletableFuture<?>[0])).whenComplete((v, e) -> {
      if (call.isStopping()) {
        return; // whoever stopped it completes it
      }
      if (e != null) {
        call.settleExceptionally(unwrap(e));
      } else {
        try {
          call.settle(result.get());
        } catch (RuntimeException r) {
          call.settleExceptionally(r);
        }
      }
    });
    return call;
  }

  /** A call with {@code source}'s outcome mapped by {@code fn}; stopping it stops the source. */
  static <S, T> CallFuture<T> map(CallFuture<S> source, Function<? super S, ? extends T> fn) {
    return allOf(source.onIoThread, List.of(source), () -> fn.apply(source.join()));
  }

  /**
   * The attempt now in flight. Returns false when the call is being stopped: the attempt must not
   * be sent (the caller settles it).
   */
  synchronized boolean attempt(PendingRequest<?> request) {
    if (stopping) {
      return false;
    }
    current = request;
    return true;
  }

  /** Whether the call is being stopped: then only the stopper completes it, and no retry starts. */
  synchronized boolean isStopping() {
    return stopping;
  }

  /**
   * Stops the call: settles its request(s) with {@code reason}; returns a future done when the
   * call's buffers are free. The call itself is left for the stopper to complete.
   */
  private CompletableFuture<?> stop(Throwable reason) {
    PendingRequest<?> request;
    synchronized (this) {
      stopping = true;
      request = current;
    }
    if (!parts.isEmpty()) {
      CompletableFuture<?>[] quiet = new CompletableFuture<?>[parts.size()];
      for (int i = 0; i < quiet.length; i++) {
        CallFuture<?> part = parts.get(i);
        quiet[i] = part.stop(reason).whenComplete((v, e) -> part.settleExceptionally(reason));
      }
      return CompletableFuture.allOf(quiet);
    }
    if (request == null) {
      return CompletableFuture.completedFuture(null);
    }
    request.abort(reason);
    return request.future;
  }

  /**
   * Stops the call, waits (not interruptibly; a pending interrupt is kept) until its buffers are
   * free, then runs {@code finish}, and returns true. On an SDK I/O thread, when that would mean
   * waiting, runs {@code finish} once the buffers are free instead, and returns false.
   */
  boolean stopAndFinish(Throwable reason, Runnable finish) {
    CompletableFuture<?> quiet = stop(reason);
    if (!quiet.isDone() && onIoThread.getAsBoolean()) {
      quiet.whenComplete((v, e) -> finish.run());
      return false;
    }
    boolean interrupted = false;
    while (!quiet.isDone()) {
      try {
        quiet.get(1, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        interrupted = true;
      } catch (ExecutionException | TimeoutException e) {
        // done whatever the outcome; or keep waiting: the request timeout ends a stuck write
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    finish.run();
    return true;
  }

  @Override
  public boolean cancel(boolean mayInterruptIfRunning) {
    if (isDone()) {
      return isCancelled();
    }
    CancellationException reason = new CancellationException("cancelled by the caller");
    boolean[] won = new boolean[1];
    boolean waited = stopAndFinish(reason, () -> won[0] = super.cancel(mayInterruptIfRunning));
    return waited && (won[0] || isCancelled());
  }

  @Override
  public boolean complete(T value) {
    if (isDone()) {
      return false;
    }
    boolean[] won = new boolean[1];
    boolean waited = stopAndFinish(
        new CancellationException("completed by the caller"), () -> won[0] = super.complete(value));
    return waited && won[0];
  }

  @Override
  public boolean completeExceptionally(Throwable ex) {
    if (isDone()) {
      return false;
    }
    boolean[] won = new boolean[1];
    boolean waited = stopAndFinish(ex, () -> won[0] = super.completeExceptionally(ex));
    return waited && won[0];
  }

  @Override
  public void obtrudeValue(T value) {
    stopAndFinish(new CancellationException("value obtruded by the caller"),
        () -> super.obtrudeValue(value));
  }

  @Override
  public void obtrudeException(Throwable ex) {
    stopAndFinish(ex, () -> super.obtrudeException(ex));
  }

  /** Completes with the SDK's result (the buffers are free: the request's future is done). */
  boolean settle(T value) {
    return super.complete(value);
  }

  /** Fails with the SDK's outcome (the buffers are free: the request's future is done). */
  boolean settleExceptionally(Throwable cause) {
    return super.completeExceptionally(cause);
  }

  private static Throwable unwrap(Throwable e) {
    Throwable cause = e;
    while (cause instanceof CompletionException && cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause;
  }
}
