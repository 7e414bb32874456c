package io.kvstore.core.index;

/** Called by {@link BlockIndex#forEach} once per entry. */
@FunctionalInterface
public interface IndexVisitor {

  /**
   * @param entry a holder reused for every call: copy what you keep
   */
  void visit(IndexEntry entry);
}
