package io.kvstore.server.config;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AuthGrantTest {

  private static final String TOKEN = "0123456789abcdef-secret";

  @Test
  void shouldParseAWildcardGrant() {
    AuthGrant g = AuthGrant.parse("Ops", TOKEN + ":*");
    assertEquals("ops", g.name());
    assertEquals(TOKEN, g.token());
    assertTrue(g.allowsAllNamespaces());
    assertTrue(g.allows(0L));
    assertTrue(g.allows(-1L));
    assertEquals(0, g.namespaceIds().length);
  }

  @Test
  void shouldParseANamespaceListWithAndWithoutPrefixSortedAndDeduplicated() {
    AuthGrant g = AuthGrant.parse("alice", TOKEN + ": ffffffffffffffff, 0x00C0FFEE ,1,00c0ffee");
    assertFalse(g.allowsAllNamespaces());
    assertArrayEquals(new long[] {-1L, 1L, 0xc0ffeeL}, g.namespaceIds());
    assertTrue(g.allows(0xc0ffeeL));
    assertTrue(g.allows(-1L));
    assertTrue(g.allows(1L));
    assertFalse(g.allows(2L));
  }

  @Test
  void shouldSplitAtTheLastColonSoTokensMayContainColons() {
    AuthGrant g = AuthGrant.parse("bob", "a:b:c:d:e:f:g:h:i:j:1234:ab");
    assertEquals("a:b:c:d:e:f:g:h:i:j:1234", g.token());
    assertArrayEquals(new long[] {0xabL}, g.namespaceIds());
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
    "no colon at all here               | missing ':'",
    "short:*                            | token has 5 characters",
    "0123456789abcdef 01:*              | not printable ASCII",
    "0123456789abcdef0123:              | empty namespace list",
    "0123456789abcdef0123:xyz           | bad namespace id 'xyz'",
    "0123456789abcdef0123:12345678901234567 | bad namespace id '12345678901234567'",
    "0123456789abcdef0123:1,,2          | bad namespace id ''",
    "0123456789abcdef0123:1,*           | '*' must be the whole namespace list",
    "0123456789abcdef0123:-1            | bad namespace id '-1'",
  })
  void shouldRejectBadGrantsSayingWhy(String spec, String expectedFragment) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> AuthGrant.parse("x", spec));
    assertTrue(e.getMessage().contains(expectedFragment), e.getMessage());
  }

  @Test
  void shouldRejectTooLongTokensAndBadNames() {
    String tooLong = "a".repeat(AuthGrant.MAX_TOKEN_CHARS + 1);
    assertThrows(IllegalArgumentException.class, () -> AuthGrant.parse("x", tooLong + ":*"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> AuthGrant.parse("bad-name", TOKEN + ":*"));
    assertTrue(e.getMessage().contains("bad grant name 'bad-name'"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> AuthGrant.parse("", TOKEN + ":*"));
  }

  @Test
  void shouldNeverPrintTheToken() {
    AuthGrant g = AuthGrant.parse("alice", TOKEN + ":c0ffee");
    assertEquals("alice -> 0000000000c0ffee", g.toString());
    assertFalse(AuthGrants.of(List.of(g)).toString().contains(TOKEN));
  }

  @Test
  void shouldCompareTokensExactly() {
    AuthGrant g = AuthGrant.parse("alice", TOKEN + ":*");
    assertTrue(g.tokenEquals(TOKEN.getBytes(StandardCharsets.US_ASCII)));
    assertFalse(g.tokenEquals((TOKEN + "x").getBytes(StandardCharsets.US_ASCII)));
    assertFalse(g.tokenEquals(TOKEN.substring(1).getBytes(StandardCharsets.US_ASCII)));
  }

  @Test
  void shouldMatchTheGrantWhoseTokenIsPresented() {
    AuthGrant alice = AuthGrant.parse("alice", "alice-token-0123456789:1");
    AuthGrant bob = AuthGrant.parse("bob", "bob-token-0123456789ab:*");
    AuthGrants grants = AuthGrants.of(List.of(bob, alice));
    assertTrue(grants.enabled());
    assertEquals(List.of(alice, bob), grants.grants());
    assertSame(bob, grants.match("bob-token-0123456789ab".getBytes(StandardCharsets.US_ASCII)).get());
    assertSame(alice, grants.match("alice-token-0123456789".getBytes(StandardCharsets.US_ASCII)).get());
    assertTrue(grants.match("nobody-0123456789abcdef".getBytes(StandardCharsets.US_ASCII)).isEmpty());
  }

  @Test
  void shouldRejectGrantsSharingANameOrAToken() {
    AuthGrant a = AuthGrant.parse("alice", TOKEN + ":1");
    AuthGrant b = AuthGrant.parse("bob", TOKEN + ":2");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> AuthGrants.of(List.of(a, b)));
    assertEquals("grants 'alice' and 'bob' have the same token", e.getMessage());
    AuthGrant a2 = AuthGrant.parse("ALICE", "other-token-0123456789:1");
    e = assertThrows(IllegalArgumentException.class, () -> AuthGrants.of(List.of(a, a2)));
    assertEquals("two grants are named 'alice'", e.getMessage());
  }

  @Test
  void shouldBeDisabledWithoutGrants() {
    assertFalse(AuthGrants.NONE.enabled());
    assertSame(AuthGrants.NONE, AuthGrants.of(List.of()));
    assertTrue(AuthGrants.NONE.match(TOKEN.getBytes(StandardCharsets.US_ASCII)).isEmpty());
  }
}
