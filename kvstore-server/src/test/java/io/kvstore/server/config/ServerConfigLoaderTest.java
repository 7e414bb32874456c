package io.kvstore.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class ServerConfigLoaderTest {

  /**
   * Three valid values per key, each different from the default and from each other, chosen so
   * that any mix of them is a consistent configuration: [file, env, flag].
   */
  private static final Map<ConfigKey, String[]> SAMPLES = new EnumMap<>(ConfigKey.class);

  static {
    SAMPLES.put(ConfigKey.HOST, new String[] {"10.0.0.1", "10.0.0.2", "0.0.0.0"});
    SAMPLES.put(ConfigKey.PORT, new String[] {"1001", "1002", "1003"});
    SAMPLES.put(ConfigKey.METRICS_HOST, new String[] {"10.0.1.1", "10.0.1.2", "0.0.0.0"});
    SAMPLES.put(ConfigKey.METRICS_PORT, new String[] {"2001", "2002", "2003"});
    SAMPLES.put(ConfigKey.DATA_DIR, new String[] {"/tmp/kv-file", "/tmp/kv-env", "/tmp/kv-flag"});
    SAMPLES.put(ConfigKey.HOT_BYTES, new String[] {"1MiB", "2MiB", "3MiB"});
    SAMPLES.put(ConfigKey.DRAM_BYTES, new String[] {"2GiB", "3GiB", "4GiB"});
    SAMPLES.put(ConfigKey.SSD_BYTES, new String[] {"1TiB", "2TiB", "3TiB"});
    SAMPLES.put(ConfigKey.MAX_PAGE_BYTES, new String[] {"1MiB", "2MiB", "3MiB"});
    SAMPLES.put(ConfigKey.SSD_MIN_PAGE_BYTES, new String[] {"4KiB", "64KiB", "1MiB"});
    SAMPLES.put(ConfigKey.EVICTION_POLICY, new String[] {"prefix-lru", "w-tinylfu", "lru"});
    SAMPLES.put(ConfigKey.SSD_ADMISSION, new String[] {"never", "second_hit", "always-x"});
    SAMPLES.put(ConfigKey.SSD_DURABILITY, new String[] {"sync", "none", "wal"});
    SAMPLES.put(ConfigKey.SSD_CORRUPT_RECORDS, new String[] {"discard", "fail", "discard"});
    SAMPLES.put(ConfigKey.SSD_FIT_DISK, new String[] {"false", "true", "false"});
    SAMPLES.put(ConfigKey.INDEX_DIR, new String[] {"/tmp/index-file", "data", "/tmp/index-flag"});
    SAMPLES.put(ConfigKey.PREFETCH_THREADS, new String[] {"3", "4", "5"});
    SAMPLES.put(ConfigKey.MAX_FRAME_BYTES, new String[] {"4MiB", "8MiB", "16MiB"});
    SAMPLES.put(ConfigKey.MAX_BATCH, new String[] {"10", "20", "30"});
    SAMPLES.put(ConfigKey.MAX_INFLIGHT_BYTES, new String[] {"64MiB", "128MiB", "512MiB"});
    SAMPLES.put(ConfigKey.MAX_CONNECTIONS, new String[] {"11", "12", "13"});
    SAMPLES.put(ConfigKey.IO_THREADS, new String[] {"1", "2", "3"});
    SAMPLES.put(ConfigKey.HANDSHAKE_TIMEOUT_SECONDS, new String[] {"1", "2", "3"});
    SAMPLES.put(ConfigKey.SHUTDOWN_GRACE_SECONDS, new String[] {"1", "2", "3"});
    SAMPLES.put(ConfigKey.NET_REQUEST_MEMORY_BYTES, new String[] {"512MiB", "1GiB", "2GiB"});
    SAMPLES.put(ConfigKey.NET_PUT_ON_LOOP_MAX_BYTES, new String[] {"0B", "64KiB", "1MiB"});
    SAMPLES.put(ConfigKey.NET_PROTOCOL_MAX_VERSION, new String[] {"1", "2", "1"});
    SAMPLES.put(ConfigKey.NET_READ_TIMEOUT_SECONDS, new String[] {"4", "5", "6"});
    SAMPLES.put(ConfigKey.NET_WRITE_TIMEOUT_SECONDS, new String[] {"7", "8", "9"});
    SAMPLES.put(ConfigKey.NET_IDLE_TIMEOUT_SECONDS, new String[] {"60", "70", "80"});
    SAMPLES.put(ConfigKey.NET_CONNECTIONS_PER_TOKEN, new String[] {"5", "6", "7"});
    SAMPLES.put(ConfigKey.NET_PREAUTH_CONNECTIONS_PER_ADDRESS, new String[] {"8", "9", "10"});
    SAMPLES.put(ConfigKey.SHM_REGION_BYTES, new String[] {"8MiB", "16MiB", "32MiB"});
    SAMPLES.put(ConfigKey.SHM_TOTAL_BYTES, new String[] {"256MiB", "512MiB", "2GiB"});
    SAMPLES.put(ConfigKey.SHM_DIR, new String[] {"/tmp/shm-file", "/tmp/shm-env", "/tmp/shm-flag"});
    SAMPLES.put(ConfigKey.SHUTDOWN_FLUSH, new String[] {"false", "true", "false"});
    SAMPLES.put(ConfigKey.SHUTDOWN_FLUSH_GRACE_SECONDS, new String[] {"5", "6", "7"});
    SAMPLES.put(ConfigKey.WRITEBACK_THREADS, new String[] {"3", "4", "5"});
    SAMPLES.put(ConfigKey.WRITEBACK_QUEUE_BYTES, new String[] {"8MiB", "16MiB", "32MiB"});
    SAMPLES.put(ConfigKey.WRITEBACK_MAX_WAIT_MILLIS, new String[] {"0", "50", "250"});
    SAMPLES.put(ConfigKey.SSD_DEGRADED_RETRY_MIN_MILLIS, new String[] {"10", "20", "30"});
    SAMPLES.put(ConfigKey.SSD_DEGRADED_RETRY_MAX_MILLIS, new String[] {"20000", "30000", "40000"});
    SAMPLES.put(ConfigKey.MEMORY_SHARDS, new String[] {"4", "8", "16"});
    SAMPLES.put(ConfigKey.MEMORY_PREFAULT, new String[] {"true", "false", "true"});
    SAMPLES.put(ConfigKey.CLUSTER, new String[] {"static://a:1", "etcd://e:2379/x", "etcd://e:2379/y?ttl=3"});
  }

  @TempDir Path dir;

  private ServerConfigLoader loader() {
    return new ServerConfigLoader().workingDir(dir);
  }

  private Path writeConf(String name, String... lines) throws IOException {
    Path file = dir.resolve(name);
    Files.write(file, List.of(lines), StandardCharsets.UTF_8);
    return file;
  }

  @Test
  void shouldCoverEveryKeyInTheSamples() {
    assertEquals(ConfigKey.values().length, SAMPLES.size());
    for (ConfigKey k : ConfigKey.values()) {
      String[] s = SAMPLES.get(k);
      assertFalse(s[0].equals(k.defaultValue()), k + " file sample equals the default");
      assertFalse(s[1].equals(s[0]), k + " env sample equals the file sample");
      assertFalse(s[2].equals(s[1]), k + " flag sample equals the env sample");
    }
  }

  @Test
  void shouldUseBuiltInDefaultsWhenNothingIsSet() {
    LoadedConfig loaded = loader().load();
    ServerConfig c = loaded.config();
    assertNull(loaded.file());
    assertEquals("127.0.0.1", c.host());
    assertEquals(7421, c.port());
    assertEquals("127.0.0.1", c.metricsHost());
    assertEquals(9464, c.metricsPort());
    assertTrue(c.metricsEnabled());
    assertEquals(Path.of("kvstore-data"), c.dataDir());
    assertEquals(0, c.hotBytes(), "no hot tier: on host memory it only adds a copy");
    assertEquals(1L << 30, c.dramBytes());
    assertEquals(16L << 30, c.ssdBytes());
    assertEquals((2 << 20) + 64, c.maxPageBytes());
    assertEquals(16 << 10, c.ssdMinPageBytes());
    assertEquals(io.kvstore.core.policy.Policies.DEFAULT, c.evictionPolicy());
    assertEquals("always", c.ssdAdmission());
    assertEquals("wal", c.ssdDurability());
    assertEquals("fail", c.ssdCorruptRecords());
    assertTrue(c.ssdFitDisk(), "the SSD tier fits itself to a smaller disk by default");
    assertEquals(1, c.prefetchThreads());
    assertEquals(64 << 20, c.maxFrameBytes());
    assertEquals(65_536, c.maxBatch());
    assertEquals(256L << 20, c.maxInflightBytes());
    assertEquals(1024, c.maxConnections());
    assertEquals(0, c.ioThreads());
    assertEquals(10, c.handshakeTimeoutSeconds());
    assertEquals(30, c.shutdownGraceSeconds());
    assertTrue(c.shutdownFlush());
    assertEquals(20, c.shutdownFlushGraceSeconds());
    assertEquals(2, c.writeBackThreads());
    assertEquals(64L << 20, c.writeBackQueueBytes());
    assertEquals(100, c.writeBackMaxWaitMillis());
    assertEquals(100, c.degradedRetryMinMillis());
    assertEquals(10_000, c.degradedRetryMaxMillis());
    assertEquals(0, c.memoryShards());
    assertFalse(c.memoryPrefault(), "slabs allocated one ahead of need by default");
    assertFalse(c.authGrants().enabled());
    for (ConfigKey k : ConfigKey.values()) {
      assertEquals(ConfigSource.DEFAULT, loaded.sources().get(k));
    }
    assertTrue(loaded.warnings().isEmpty());
  }

  @ParameterizedTest
  @EnumSource(ConfigKey.class)
  void shouldLetEachLayerOverrideTheOneBelowPerKey(ConfigKey key) throws IOException {
    String[] s = SAMPLES.get(key);
    Path file = writeConf("layers.conf", key.fileKey() + " = " + s[0]);
    Map<String, String> env = Map.of(key.envVar(), s[1]);

    LoadedConfig fileOnly = loader().configFile(file).load();
    assertEquals(render(key, s[0]), key.render(fileOnly.config()));
    assertEquals(ConfigSource.FILE, fileOnly.sources().get(key));

    LoadedConfig fileAndEnv = loader().configFile(file).environment(env).load();
    assertEquals(render(key, s[1]), key.render(fileAndEnv.config()));
    assertEquals(ConfigSource.ENV, fileAndEnv.sources().get(key));

    LoadedConfig all = loader().configFile(file).environment(env).flag(key, s[2]).load();
    assertEquals(render(key, s[2]), key.render(all.config()));
    assertEquals(ConfigSource.FLAG, all.sources().get(key));

    LoadedConfig flagOverFile = loader().configFile(file).flag(key, s[2]).load();
    assertEquals(render(key, s[2]), key.render(flagOverFile.config()));

    for (ConfigKey other : ConfigKey.values()) {
      if (other != key) {
        assertEquals(ConfigSource.DEFAULT, all.sources().get(other), other.fileKey());
        assertEquals(other.render(ServerConfig.defaults()), other.render(all.config()));
      }
    }
  }

  /** What {@link ConfigKey#render} prints for a sample value. */
  private static String render(ConfigKey key, String sample) {
    return key == ConfigKey.DATA_DIR ? Path.of(sample).toAbsolutePath().toString() : sample;
  }

  @Test
  void shouldReadEveryKeyFromOneFileWithCommentsAndSpaces() throws IOException {
    StringBuilder text = new StringBuilder("# kvstore test configuration\n\n! also a comment\n");
    for (ConfigKey k : ConfigKey.values()) {
      text.append("   ").append(k.fileKey()).append("\t=  ").append(SAMPLES.get(k)[0]).append("  \n");
    }
    Path file = dir.resolve("all.conf");
    Files.writeString(file, text);
    LoadedConfig loaded = loader().configFile(file).load();
    for (ConfigKey k : ConfigKey.values()) {
      assertEquals(render(k, SAMPLES.get(k)[0]), k.render(loaded.config()), k.fileKey());
      assertEquals(ConfigSource.FILE, loaded.sources().get(k));
    }
    assertEquals(file.toAbsolutePath(), loaded.file());
  }

  @Test
  void shouldFindTheFileThroughTheEnvironmentThenTheWorkingDirectory() throws IOException {
    writeConf("kvstore.conf", "port = 1111");
    Path other = writeConf("other.conf", "port = 2222");
    Path third = writeConf("third.conf", "port = 3333");

    assertEquals(1111, loader().load().config().port());
    assertEquals(2222, loader().environment(Map.of("KVSTORE_CONFIG", other.toString())).load().config().port());
    assertEquals(3333, loader().environment(Map.of("KVSTORE_CONFIG", other.toString()))
        .configFile(third).load().config().port());
  }

  @Test
  void shouldFailClearlyWhenANamedFileIsMissingOrNotAFile() {
    Path missing = dir.resolve("nope.conf");
    ConfigException e = assertThrows(ConfigException.class, () -> loader().configFile(missing).load());
    assertEquals("Invalid configuration: configuration file " + missing.toAbsolutePath()
        + " (from flag --config) does not exist", e.getMessage());

    e = assertThrows(ConfigException.class,
        () -> loader().environment(Map.of("KVSTORE_CONFIG", missing.toString())).load());
    assertTrue(e.getMessage().contains("(from environment variable KVSTORE_CONFIG) does not exist"),
        e.getMessage());

    e = assertThrows(ConfigException.class, () -> loader().configFile(dir).load());
    assertTrue(e.getMessage().endsWith("is not a regular file"), e.getMessage());

    e = assertThrows(ConfigException.class,
        () -> loader().environment(Map.of("KVSTORE_CONFIG", " ")).load());
    assertTrue(e.getMessage().contains("KVSTORE_CONFIG is set but empty"), e.getMessage());
  }

  @Test
  void shouldNameTheLineOfAnUnknownKeyAndSuggestTheClosestOne() throws IOException {
    Path file = writeConf("k.conf", "# comment", "dram.byte = 1GiB");
    ConfigException e = assertThrows(ConfigException.class, () -> loader().configFile(file).load());
    assertEquals("Invalid configuration: " + file.toAbsolutePath()
        + " line 2: unknown key 'dram.byte'; did you mean 'dram.bytes'?", e.getMessage());

    Path far = writeConf("far.conf", "colour = blue");
    e = assertThrows(ConfigException.class, () -> loader().configFile(far).load());
    assertTrue(e.getMessage().endsWith(
        "line 1: unknown key 'colour'; see docs/configuration.md for the keys"), e.getMessage());
  }

  @Test
  void shouldRejectLinesWithoutAKeyAndRepeatedKeys() throws IOException {
    Path file = writeConf("s.conf", "port = 1", "just some words", "= 5", "port = 2");
    ConfigException e = assertThrows(ConfigException.class, () -> loader().configFile(file).load());
    String abs = file.toAbsolutePath().toString();
    assertEquals("Invalid configuration (3 problems):\n"
        + "  " + abs + " line 2: expected 'key = value', got 'just some words'\n"
        + "  " + abs + " line 3: expected 'key = value', got '= 5'\n"
        + "  " + abs + " line 4: key 'port' is already set on line 1", e.getMessage());
  }

  @Test
  void shouldNameKeyValueOriginAndExpectedFormOfABadValueInEachLayer() throws IOException {
    Path file = writeConf("v.conf", "", "dram.bytes = 1 gigabyte");
    ConfigException e = assertThrows(ConfigException.class, () -> loader().configFile(file).load());
    assertEquals("Invalid configuration: bad value '1 gigabyte' for dram.bytes (from "
        + file.toAbsolutePath() + " line 2): unknown unit 'gigabyte'; expected " + Sizes.EXPECTED_FORM,
        e.getMessage());

    e = assertThrows(ConfigException.class,
        () -> loader().environment(Map.of("KVSTORE_PORT", "http")).load());
    assertEquals("Invalid configuration: bad value 'http' for port (from environment variable"
        + " KVSTORE_PORT): expected an integer from 0 to 65535", e.getMessage());

    e = assertThrows(ConfigException.class, () -> loader().flag(ConfigKey.SSD_DURABILITY, "fast").load());
    assertTrue(e.getMessage().contains("ssd.durability is 'fast'; expected one of none, wal, sync"),
        e.getMessage());
    e = assertThrows(ConfigException.class,
        () -> loader().flag(ConfigKey.SSD_CORRUPT_RECORDS, "repair").load());
    assertTrue(e.getMessage().contains("ssd.corrupt.records is 'repair'; expected fail or discard"),
        e.getMessage());
  }

  @Test
  void shouldRejectOutOfRangeAndMalformedValuesOfEveryKind() {
    Map<ConfigKey, String> bad = new EnumMap<>(ConfigKey.class);
    bad.put(ConfigKey.HOST, "my host");
    bad.put(ConfigKey.PORT, "65536");
    bad.put(ConfigKey.METRICS_HOST, "");
    bad.put(ConfigKey.METRICS_PORT, "-1");
    bad.put(ConfigKey.DATA_DIR, " ");
    bad.put(ConfigKey.HOT_BYTES, "-5MiB");
    bad.put(ConfigKey.DRAM_BYTES, "1.5GiB");
    bad.put(ConfigKey.SSD_BYTES, "16G");
    bad.put(ConfigKey.MAX_PAGE_BYTES, "64");
    bad.put(ConfigKey.SSD_MIN_PAGE_BYTES, "64");
    bad.put(ConfigKey.EVICTION_POLICY, "LRU!");
    bad.put(ConfigKey.SSD_ADMISSION, "");
    bad.put(ConfigKey.SSD_DURABILITY, "");
    bad.put(ConfigKey.SSD_CORRUPT_RECORDS, "discard!");
    bad.put(ConfigKey.INDEX_DIR, " ");
    bad.put(ConfigKey.PREFETCH_THREADS, "0");
    bad.put(ConfigKey.MAX_FRAME_BYTES, "2GiB");
    bad.put(ConfigKey.MAX_BATCH, "0");
    bad.put(ConfigKey.MAX_INFLIGHT_BYTES, "0");
    bad.put(ConfigKey.MAX_CONNECTIONS, "99999999999");
    bad.put(ConfigKey.IO_THREADS, "4097");
    bad.put(ConfigKey.HANDSHAKE_TIMEOUT_SECONDS, "0");
    bad.put(ConfigKey.SHUTDOWN_GRACE_SECONDS, "2.5");
    bad.put(ConfigKey.NET_REQUEST_MEMORY_BYTES, "-1MiB");
    bad.put(ConfigKey.NET_PUT_ON_LOOP_MAX_BYTES, "-64KiB");
    bad.put(ConfigKey.NET_PROTOCOL_MAX_VERSION, "3");
    bad.put(ConfigKey.NET_READ_TIMEOUT_SECONDS, "0");
    bad.put(ConfigKey.NET_WRITE_TIMEOUT_SECONDS, "3601");
    bad.put(ConfigKey.NET_IDLE_TIMEOUT_SECONDS, "0");
    bad.put(ConfigKey.NET_CONNECTIONS_PER_TOKEN, "0");
    bad.put(ConfigKey.NET_PREAUTH_CONNECTIONS_PER_ADDRESS, "x");
    bad.put(ConfigKey.SHM_REGION_BYTES, "2GiB");
    bad.put(ConfigKey.SHM_TOTAL_BYTES, "-1");
    bad.put(ConfigKey.SHM_DIR, " ");
    bad.put(ConfigKey.SHUTDOWN_FLUSH, "yes");
    bad.put(ConfigKey.SHUTDOWN_FLUSH_GRACE_SECONDS, "-1");
    bad.put(ConfigKey.WRITEBACK_THREADS, "0");
    bad.put(ConfigKey.WRITEBACK_QUEUE_BYTES, "2GiB");
    bad.put(ConfigKey.WRITEBACK_MAX_WAIT_MILLIS, "60001");
    bad.put(ConfigKey.SSD_DEGRADED_RETRY_MIN_MILLIS, "0");
    bad.put(ConfigKey.SSD_DEGRADED_RETRY_MAX_MILLIS, "3600001");
    bad.put(ConfigKey.MEMORY_SHARDS, "3");
    bad.put(ConfigKey.MEMORY_PREFAULT, "on");
    bad.put(ConfigKey.SSD_FIT_DISK, "yes");
    bad.put(ConfigKey.CLUSTER, "etcd://e:2379");
    assertEquals(ConfigKey.values().length, bad.size());
    for (Map.Entry<ConfigKey, String> b : bad.entrySet()) {
      ConfigKey key = b.getKey();
      ConfigException e = assertThrows(ConfigException.class,
          () -> loader().flag(key, b.getValue()).load(), key.fileKey());
      assertTrue(e.getMessage().startsWith("Invalid configuration: bad value '"
          + b.getValue().strip() + "' for " + key.fileKey() + " (from flag " + key.flag() + "): "),
          e.getMessage());
      assertTrue(e.getMessage().contains("expected"), e.getMessage());
    }
  }

  @Test
  void shouldReportEveryBadValueAtOnce() {
    Map<String, String> env = new HashMap<>();
    env.put("KVSTORE_PORT", "x");
    env.put("KVSTORE_MAX_BATCH", "y");
    ConfigException e = assertThrows(ConfigException.class,
        () -> loader().environment(env).flag(ConfigKey.SSD_BYTES, "z").load());
    assertTrue(e.getMessage().startsWith("Invalid configuration (3 problems):\n"), e.getMessage());
    assertTrue(e.getMessage().contains("for port (from environment variable KVSTORE_PORT)"));
    assertTrue(e.getMessage().contains("for ssd.bytes (from flag --ssd-bytes)"));
    assertTrue(e.getMessage().contains("for max.batch (from environment variable KVSTORE_MAX_BATCH)"));
  }

  @Test
  void shouldRejectSettingsThatDoNotFitTogether() {
    ConfigException e = assertThrows(ConfigException.class,
        () -> loader().flag(ConfigKey.MAX_FRAME_BYTES, "1MiB").load());
    assertEquals("Invalid configuration: inconsistent configuration: max.frame.bytes (1MiB) must be"
        + " at least max.page.bytes (2097216 (2.00MiB)), or a put of the largest page could not be"
        + " sent", e.getMessage());

    e = assertThrows(ConfigException.class,
        () -> loader().flag(ConfigKey.MAX_INFLIGHT_BYTES, "32MiB").load());
    assertTrue(e.getMessage().contains("max.inflight.bytes (32MiB) must be at least max.frame.bytes"
        + " (64MiB)"), e.getMessage());

    e = assertThrows(ConfigException.class,
        () -> loader().flag(ConfigKey.PORT, "9000").flag(ConfigKey.METRICS_PORT, "9000").load());
    assertTrue(e.getMessage().contains("port and metrics.port are both 9000 on 127.0.0.1"),
        e.getMessage());
    e = assertThrows(ConfigException.class,
        () -> loader().flag(ConfigKey.SSD_DEGRADED_RETRY_MIN_MILLIS, "5000")
            .flag(ConfigKey.SSD_DEGRADED_RETRY_MAX_MILLIS, "1000").load());
    assertTrue(e.getMessage().contains("ssd.degraded.retry.max.millis (1000) must be at least"
        + " ssd.degraded.retry.min.millis (5000)"), e.getMessage());

    assertEquals(9000, loader().flag(ConfigKey.PORT, "9000").flag(ConfigKey.METRICS_PORT, "9000")
        .flag(ConfigKey.METRICS_HOST, "127.0.0.2").load().config().port());
  }

  @Test
  void shouldListTheValidEvictionPolicies() {
    ConfigException e = assertThrows(ConfigException.class,
        () -> loader().flag(ConfigKey.EVICTION_POLICY, "fifo").load());
    assertEquals("Invalid configuration: bad value 'fifo' for eviction.policy (from flag"
        + " --eviction-policy): expected one of lru, prefix-lru, w-tinylfu, adaptive-prefix-lru", e.getMessage());
  }

  @Test
  void shouldRejectAFileThatIsNotUtf8() throws IOException {
    Path file = dir.resolve("latin1.conf");
    Files.write(file, new byte[] {'p', 'o', 'r', 't', '=', '1', '\n', '#', (byte) 0xE9, '\n'});
    ConfigException e = assertThrows(ConfigException.class, () -> loader().configFile(file).load());
    assertTrue(e.getMessage().endsWith(" is not valid UTF-8"), e.getMessage());
  }

  @Test
  void shouldMergeAuthGrantsByNameAcrossLayers() throws IOException {
    Path file = writeConf("auth.conf",
        "auth.token.alice = alice-file-token-0123:00000000000000a1",
        "auth.token.bob = bob-file-token-012345:*");
    Map<String, String> env = Map.of(
        "KVSTORE_AUTH_TOKEN_ALICE", "alice-env-token-01234:a2",
        "KVSTORE_AUTH_TOKEN_CAROL", "carol-env-token-01234:c0,c1");
    LoadedConfig loaded = loader().configFile(file).environment(env)
        .authTokenFlag("Bob=bob-flag-token-012345:b0").load();

    AuthGrants grants = loaded.config().authGrants();
    assertTrue(grants.enabled());
    assertEquals("[alice -> 00000000000000a2, bob -> 00000000000000b0,"
        + " carol -> 00000000000000c0,00000000000000c1]", grants.toString());
    assertEquals("alice-env-token-01234", grants.grants().get(0).token());
    assertEquals("bob-flag-token-012345", grants.grants().get(1).token());
    assertEquals(Map.of("alice", ConfigSource.ENV, "bob", ConfigSource.FLAG, "carol", ConfigSource.ENV),
        loaded.grantSources());
  }

  @Test
  void shouldReportBadAuthGrantsWithoutEchoingTheToken() throws IOException {
    Path file = writeConf("a.conf", "auth.token.alice = too-short-token:*");
    ConfigException e = assertThrows(ConfigException.class, () -> loader().configFile(file).load());
    assertEquals("Invalid configuration: bad auth grant 'alice' (from " + file.toAbsolutePath()
        + " line 1): token has 15 characters; expected 16 to 256", e.getMessage());
    assertFalse(e.getMessage().contains("too-short-token"));

    e = assertThrows(ConfigException.class,
        () -> loader().authTokenFlag("no-equals-sign-here").load());
    assertEquals("Invalid configuration: bad --auth-token argument: expected NAME=TOKEN:NAMESPACES",
        e.getMessage());

    e = assertThrows(ConfigException.class,
        () -> loader().authTokenFlag("bad-name=0123456789abcdef0:*").load());
    assertTrue(e.getMessage().contains("bad auth grant 'bad-name' (from flag --auth-token): bad grant"
        + " name 'bad-name'"), e.getMessage());
    assertFalse(e.getMessage().contains("0123456789abcdef0"));

    e = assertThrows(ConfigException.class, () -> loader()
        .authTokenFlag("a=same-token-0123456789:*").authTokenFlag("b=same-token-0123456789:1").load());
    assertEquals("Invalid configuration: inconsistent configuration: grants 'a' and 'b' have the"
        + " same token", e.getMessage());
  }

  @Test
  void shouldWarnAboutUnknownPrefixedEnvironmentVariablesAndIgnoreOthers() {
    Map<String, String> env = new HashMap<>();
    env.put("KVSTORE_DRAM_BYTE", "1GiB");
    env.put("KVSTORE_COLOUR", "blue");
    env.put("KVSTORE_JAVA_OPTS", "-Xmx2g");
    env.put("KVSTORE_CLASS_ARCHIVE", "0");
    env.put("HOME", "/root");
    LoadedConfig loaded = loader().environment(env).load();
    assertEquals(List.of(
        "ignoring unknown environment variable KVSTORE_COLOUR",
        "ignoring unknown environment variable KVSTORE_DRAM_BYTE (did you mean KVSTORE_DRAM_BYTES?)"),
        loaded.warnings());
    assertEquals(1L << 30, loaded.config().dramBytes());
  }

  @Test
  void shouldDescribeTheEffectiveConfigurationWithSourcesAndWithoutTokens() throws IOException {
    Path file = writeConf("d.conf", "dram.bytes = 2GiB", "auth.token.ops = ops-token-0123456789:*");
    LoadedConfig loaded = loader().configFile(file).environment(Map.of("KVSTORE_PORT", "7000"))
        .flag(ConfigKey.METRICS_PORT, "0").load();
    List<String> lines = loaded.describe();
    assertEquals("config file = " + file.toAbsolutePath(), lines.get(0));
    assertTrue(lines.contains("dram.bytes = 2GiB (file)"), lines.toString());
    assertTrue(lines.contains("port = 7000 (env)"), lines.toString());
    assertTrue(lines.contains("metrics.port = 0 (off) (flag)"), lines.toString());
    assertTrue(lines.contains("ssd.bytes = 16GiB (default)"), lines.toString());
    assertTrue(lines.contains("data.dir = " + Path.of("kvstore-data").toAbsolutePath() + " (default)"),
        lines.toString());
    assertTrue(lines.contains("auth grant ops -> * (file)"), lines.toString());
    assertFalse(lines.toString().contains("ops-token"));
    assertEquals(ConfigKey.values().length + 2, lines.size());
    assertTrue(loader().load().describe().contains("auth = off"));
  }

  @Test
  void shouldComputeEditDistance() {
    assertEquals(0, ServerConfigLoader.distance("port", "port"));
    assertEquals(1, ServerConfigLoader.distance("prt", "port"));
    assertEquals(1, ServerConfigLoader.distance("dram.byts", "dram.bytes"));
    assertEquals(2, ServerConfigLoader.distance("dram.bytse", "dram.bytes"));
    assertEquals(4, ServerConfigLoader.distance("", "port"));
  }
}
