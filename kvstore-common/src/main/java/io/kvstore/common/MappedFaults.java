package io.kvstore.common;

/**
 * Where a fault in mapped memory surfaces. Touching a page of a mapped file that cannot be backed
 * (past the end of a file someone truncated, or a page of a sparse file its full tmpfs cannot give)
 * raises SIGBUS, which the JVM turns into an {@link InternalError} — in compiled code not inside
 * the faulting access but where the thread next checks for it (seen: after the copying method had
 * returned, in a constructor further on). Code that reads or writes memory another process can
 * truncate calls {@link #raisePending()} right after each access, so the error comes out there,
 * inside the caller's {@code catch}, and never in the middle of later work (a commit under a lock).
 */
public final class MappedFaults {

  private static final Object NOBODY_LOCKS_THIS = new Object();

  private MappedFaults() {}

  /**
   * Raises, here, a fault of an access to mapped memory just made. A native call is one of the
   * points where the JVM checks; {@code Thread.holdsLock} is a plain native call with no effect
   * (tens of ns).
   *
   * @throws InternalError if such an access faulted
   */
  public static void raisePending() {
    if (Thread.holdsLock(NOBODY_LOCKS_THIS)) {
      throw new AssertionError("nobody locks this monitor");
    }
  }
}
