package io.kvstore.server.config;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The set of {@link AuthGrant}s the daemon accepts. Empty means authentication is off: any client
 * may use any namespace (the daemon warns about this at start).
 */
public final class AuthGrants {

  /** No grants: authentication off. */
  public static final AuthGrants NONE = new AuthGrants(List.of());

  private final List<AuthGrant> grants;

  private AuthGrants(List<AuthGrant> grants) {
    this.grants = grants;
  }

  /**
   * Makes a set of grants.
   *
   * @param grants the grants; names and tokens must be unique
   * @return the set, sorted by name
   * @throws IllegalArgumentException naming the two grants that share a name or a token
   */
  public static AuthGrants of(Collection<AuthGrant> grants) {
    List<AuthGrant> sorted = new ArrayList<>(grants);
    sorted.sort(Comparator.comparing(AuthGrant::name));
    for (int i = 0; i < sorted.size(); i++) {
      for (int j = i + 1; j < sorted.size(); j++) {
        AuthGrant a = sorted.get(i);
        AuthGrant b = sorted.get(j);
        if (a.name().equals(b.name())) {
          throw new IllegalArgumentException("two grants are named '" + a.name() + "'");
        }
        if (a.tokenEquals(b.token().getBytes(StandardCharsets.US_ASCII))) {
          throw new IllegalArgumentException(
              "grants '" + a.name() + "' and '" + b.name() + "' have the same token");
        }
      }
    }
    return sorted.isEmpty() ? NONE : new AuthGrants(List.copyOf(sorted));
  }

  /** Whether clients must present a token (at least one grant is configured). */
  public boolean enabled() {
    return !grants.isEmpty();
  }

  /** The grants, sorted by name. */
  public List<AuthGrant> grants() {
    return grants;
  }

  /**
   * Finds the grant whose token was presented. Every grant is compared, in constant time each, so
   * the time taken does not say which grant (if any) came close.
   *
   * @param presentedToken the token bytes from a handshake
   * @return the matching grant, or empty if none matches
   */
  public Optional<AuthGrant> match(byte[] presentedToken) {
    AuthGrant found = null;
    for (AuthGrant grant : grants) {
      if (grant.tokenEquals(presentedToken)) {
        found = grant;
      }
    }
    return Optional.ofNullable(found);
  }

  /** The grants without their tokens, e.g. {@code [alice -> *, bob -> 00000000c0ffee00]}. */
  @Override
  public String toString() {
    return grants.toString();
  }
}
