package io.kvstore.server.config;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * One named access grant: a client that presents {@link #token()} in its handshake may use the
 * listed namespaces (or all of them).
 *
 * <p>Written in configuration as {@code TOKEN:NAMESPACES}, where {@code NAMESPACES} is {@code *}
 * (any namespace) or a comma-separated list of namespace ids, each 1 to 16 hex digits with an
 * optional {@code 0x} prefix (the id that {@code Namespace.idHex()} prints). The token is 16 to
 * 256 printable ASCII characters without spaces; it may itself contain {@code :} because the
 * namespace list starts after the last one.
 */
public final class AuthGrant {

  /** The shortest token accepted: shorter ones are guessable. */
  public static final int MIN_TOKEN_CHARS = 16;
  /** The longest token accepted. */
  public static final int MAX_TOKEN_CHARS = 256;
  /** What a grant looks like, for error messages. */
  public static final String EXPECTED_FORM =
      "TOKEN:NAMESPACES where TOKEN is " + MIN_TOKEN_CHARS + " to " + MAX_TOKEN_CHARS
          + " printable ASCII characters without spaces and NAMESPACES is * or a comma-separated"
          + " list of hex namespace ids (1 to 16 hex digits, optional 0x), e.g."
          + " s3cr3t-t0ken-0123456789:00c0ffee00c0ffee,1234abcd";

  private static final Pattern NAME = Pattern.compile("[a-z0-9_]{1,64}");
  private static final Pattern HEX_ID = Pattern.compile("(0[xX])?[0-9a-fA-F]{1,16}");

  private final String name;
  private final byte[] token;
  private final boolean allNamespaces;
  private final long[] namespaceIds;

  private AuthGrant(String name, byte[] token, boolean allNamespaces, long[] namespaceIds) {
    this.name = name;
    this.token = token;
    this.allNamespaces = allNamespaces;
    this.namespaceIds = namespaceIds;
  }

  /**
   * Parses a grant.
   *
   * @param name the grant's name: 1 to 64 characters from {@code a-z 0-9 _}; upper case is folded
   *     to lower case so that the environment variable {@code KVSTORE_AUTH_TOKEN_ALICE} and the
   *     file key {@code auth.token.alice} name the same grant
   * @param spec {@code TOKEN:NAMESPACES} as described in the class comment
   * @return the grant
   * @throws IllegalArgumentException saying what is wrong and what is expected
   */
  public static AuthGrant parse(String name, String spec) {
    String normalName = normalizeName(name);
    if (spec == null) {
      throw new IllegalArgumentException("expected " + EXPECTED_FORM + ", got nothing");
    }
    String s = spec.strip();
    int colon = s.lastIndexOf(':');
    if (colon < 0) {
      throw new IllegalArgumentException("missing ':' before the namespace list; expected " + EXPECTED_FORM);
    }
    String token = s.substring(0, colon);
    checkToken(token);
    String list = s.substring(colon + 1).strip();
    if (list.equals("*")) {
      return new AuthGrant(normalName, token.getBytes(StandardCharsets.US_ASCII), true, new long[0]);
    }
    if (list.isEmpty()) {
      throw new IllegalArgumentException("empty namespace list; expected " + EXPECTED_FORM);
    }
    String[] parts = list.split(",", -1);
    long[] ids = new long[parts.length];
    for (int i = 0; i < parts.length; i++) {
      String part = parts[i].strip();
      if (part.equals("*")) {
        throw new IllegalArgumentException("'*' must be the whole namespace list, not one entry of '" + list + "'");
      }
      if (!HEX_ID.matcher(part).matches()) {
        throw new IllegalArgumentException("bad namespace id '" + part + "'; expected " + EXPECTED_FORM);
      }
      String digits = part.startsWith("0x") || part.startsWith("0X") ? part.substring(2) : part;
      ids[i] = Long.parseUnsignedLong(digits, 16);
    }
    long[] unique = Arrays.stream(ids).sorted().distinct().toArray();
    return new AuthGrant(normalName, token.getBytes(StandardCharsets.US_ASCII), false, unique);
  }

  /**
   * Checks and normalizes a grant name (lower case).
   *
   * @param name the name as written
   * @return the name in lower case
   * @throws IllegalArgumentException if it is not 1 to 64 characters from {@code a-z A-Z 0-9 _}
   */
  public static String normalizeName(String name) {
    String n = name == null ? "" : name.toLowerCase(Locale.ROOT);
    if (!NAME.matcher(n).matches()) {
      throw new IllegalArgumentException(
          "bad grant name '" + name + "'; expected 1 to 64 characters from a-z, 0-9 and _");
    }
    return n;
  }

  private static void checkToken(String token) {
    if (token.length() < MIN_TOKEN_CHARS || token.length() > MAX_TOKEN_CHARS) {
      throw new IllegalArgumentException("token has " + token.length() + " characters; expected "
          + MIN_TOKEN_CHARS + " to " + MAX_TOKEN_CHARS);
    }
    for (int i = 0; i < token.length(); i++) {
      char c = token.charAt(i);
      if (c < 0x21 || c > 0x7e) {
        throw new IllegalArgumentException("token has a character that is not printable ASCII"
            + " (or is a space) at position " + i + "; expected " + EXPECTED_FORM);
      }
    }
  }

  /** The grant's name (lower case), as in {@code auth.token.NAME}; safe to print. */
  public String name() {
    return name;
  }

  /** The secret token. Never log it. */
  public String token() {
    return new String(token, StandardCharsets.US_ASCII);
  }

  /** Whether this grant allows every namespace ({@code *}). */
  public boolean allowsAllNamespaces() {
    return allNamespaces;
  }

  /** A sorted copy of the allowed namespace ids; empty when {@link #allowsAllNamespaces()}. */
  public long[] namespaceIds() {
    return namespaceIds.clone();
  }

  /**
   * Whether this grant allows a namespace.
   *
   * @param namespaceId the namespace id from the handshake
   * @return true if allowed
   */
  public boolean allows(long namespaceId) {
    return allNamespaces || Arrays.binarySearch(namespaceIds, namespaceId) >= 0;
  }

  /**
   * Compares a presented token with this grant's in time that does not depend on where they
   * differ, so that response times do not leak the token.
   *
   * @param presented the token bytes from the handshake
   * @return true if equal
   */
  public boolean tokenEquals(byte[] presented) {
    return MessageDigest.isEqual(token, presented);
  }

  /** The grant without its token, e.g. {@code alice -> 00000000c0ffee00,...} or {@code ops -> *}. */
  @Override
  public String toString() {
    if (allNamespaces) {
      return name + " -> *";
    }
    StringBuilder sb = new StringBuilder(name).append(" -> ");
    for (int i = 0; i < namespaceIds.length; i++) {
      sb.append(i == 0 ? "" : ",").append(String.format("%016x", namespaceIds[i]));
    }
    return sb.toString();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof AuthGrant
        && name.equals(((AuthGrant) o).name)
        && Arrays.equals(token, ((AuthGrant) o).token)
        && allNamespaces == ((AuthGrant) o).allNamespaces
        && Arrays.equals(namespaceIds, ((AuthGrant) o).namespaceIds);
  }

  @Override
  public int hashCode() {
    return name.hashCode() * 31 + Arrays.hashCode(namespaceIds);
  }
}
