package io.kvstore.core.policy;

/**
 * The parent/child links of cached prefix chains, over {@code int[]} arrays indexed by entry id: per
 * id its parent and an intrusive doubly linked list of its children (first child, next and previous
 * sibling), so a removed node detaches its children in O(children) and leaves no stale link behind
 * for the page that reuses its id. Shared by the prefix-aware policies; holds no recency state.
 */
final class PrefixForest {

  static final int NIL = IdDeque.NIL;

  private final int[] parent;
  private final int[] firstChild;
  private final int[] nextSibling;
  private final int[] prevSibling;

  PrefixForest(int capacity) {
    parent = new int[capacity];
    firstChild = new int[capacity];
    nextSibling = new int[capacity];
    prevSibling = new int[capacity];
  }

  /** Makes {@code id} a root with no children (its old links must already be detached). */
  void initNode(int id) {
    parent[id] = NIL;
    firstChild[id] = NIL;
    nextSibling[id] = NIL;
    prevSibling[id] = NIL;
  }

  int parent(int id) {
    return parent[id];
  }

  boolean hasChildren(int id) {
    return firstChild[id] != NIL;
  }

  /** The most recently linked child of {@code id}, or {@link #NIL}. */
  int firstChild(int id) {
    return firstChild[id];
  }

  /** The next older sibling of {@code id}, or {@link #NIL}. */
  int nextSibling(int id) {
    return nextSibling[id];
  }

  int childCount(int id) {
    int n = 0;
    for (int c = firstChild[id]; c != NIL; c = nextSibling[c]) {
      n++;
    }
    return n;
  }

  /**
   * Links {@code child} (a fresh root) under {@code p}.
   *
   * @return whether {@code p} had no child before (it stops being a leaf)
   */
  boolean link(int p, int child) {
    parent[child] = p;
    int first = firstChild[p];
    nextSibling[child] = first;
    prevSibling[child] = NIL;
    if (first != NIL) {
      prevSibling[first] = child;
    }
    firstChild[p] = child;
    return first == NIL;
  }

  /**
   * Detaches {@code id} from its parent and its children from it (they become roots).
   *
   * @return the former parent if it has no child left (it turns into a leaf), else {@link #NIL}
   */
  int detach(int id) {
    for (int c = firstChild[id]; c != NIL; ) {
      int next = nextSibling[c];
      parent[c] = NIL;
      nextSibling[c] = NIL;
      prevSibling[c] = NIL;
      c = next;
    }
    firstChild[id] = NIL;
    int p = parent[id];
    if (p == NIL) {
      return NIL;
    }
    int ps = prevSibling[id];
    int ns = nextSibling[id];
    if (ps != NIL) {
      nextSibling[ps] = ns;
    } else {
      firstChild[p] = ns;
    }
    if (ns != NIL) {
      prevSibling[ns] = ps;
    }
    parent[id] = NIL;
    nextSibling[id] = NIL;
    prevSibling[id] = NIL;
    return firstChild[p] == NIL ? p : NIL;
  }
}
