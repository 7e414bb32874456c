package io.kvstore.core.store;

/**
 * A put would have replaced a page that the store holds under another namespace. Two namespaces
 * never share a page (DESIGN.md, "Block identity"), so the store refuses the put and leaves the
 * held page as it was. The daemon answers it with its namespace error code.
 */
public final class ForeignPageException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final long keyHi;
  private final long keyLo;
  private final long namespaceId;

  /**
   * @param keyHi key of the refused page
   * @param keyLo key of the refused page
   * @param namespaceId the namespace of the refused page (the held page's namespace is another)
   */
  public ForeignPageException(long keyHi, long keyLo, long namespaceId) {
    this(
        keyHi,
        keyLo,
        namespaceId,
        String.format(
            "key %016x%016x is held under another namespace than %016x; not replaced",
            keyHi, keyLo, namespaceId));
  }

  private ForeignPageException(long keyHi, long keyLo, long namespaceId, String message) {
    super(message);
    this.keyHi = keyHi;
    this.keyLo = keyLo;
    this.namespaceId = namespaceId;
  }

  /**
   * A page whose own header names namespace {@code pageNamespaceId}, given by a caller that may
   * store only pages of {@code callerNamespaceId} ({@link TieredStore#putCopyVerified(ByteBuffer,
   * long)}); nothing is stored or replaced.
   */
  public static ForeignPageException notCallers(
      long keyHi, long keyLo, long pageNamespaceId, long callerNamespaceId) {
    return new ForeignPageException(
        keyHi,
        keyLo,
        pageNamespaceId,
        String.format(
            "page %016x%016x is of namespace %016x, not the caller's %016x; not stored",
            keyHi, keyLo, pageNamespaceId, callerNamespaceId));
  }

  /** High half of the refused page's key. */
  public long keyHi() {
    return keyHi;
  }

  /** Low half of the refused page's key. */
  public long keyLo() {
    return keyLo;
  }

  /** Namespace of the refused page. */
  public long namespaceId() {
    return namespaceId;
  }
}
