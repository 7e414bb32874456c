package io.kvstore.server;

import io.kvstore.core.store.DataDirInUseException;
import io.kvstore.core.index.BlockIndex;
import io.kvstore.core.store.IndexDirFullException;
import io.kvstore.core.store.IndexDirInUseException;
import io.kvstore.core.store.IndexDirUnusableException;
import io.kvstore.core.store.DataDirUnusableException;
import io.kvstore.core.tier.ssd.SsdStorageException;
import io.kvstore.server.config.AuthGrant;
import io.kvstore.server.config.ConfigException;
import io.kvstore.server.config.ConfigKey;
import io.kvstore.server.config.LoadedConfig;
import io.kvstore.server.config.ServerConfig;
import io.kvstore.server.config.ServerConfigLoader;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.ServiceConfigurationError;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The daemon's command line: {@code bin/kvstore-server [--config FILE] [--port N] ...}.
 *
 * <p>Loads the configuration (defaults &lt; file &lt; environment &lt; flags), prints it, starts a
 * {@link KvStoreDaemon} and waits until a JVM shutdown hook (SIGTERM, Ctrl-C) has stopped it
 * gracefully. The flags for the settings are made from {@link ConfigKey}, one per key, so the
 * command, the file keys, the environment variables and the docs cannot disagree.
 *
 * <p>Exit codes: 143 / 130 after a graceful stop on SIGTERM / Ctrl-C (the JVM reports the signal,
 * as for any process ending on one; the stop itself ran to completion), 0 after a stop requested
 * in-process, 1 if the daemon could not start, 2 for a bad configuration or command line (the
 * problem is printed on stderr).
 */
@Command(
    name = "kvstore-server",
    mixinStandardHelpOptions = true,
    versionProvider = KvStoreServerCommand.Version.class,
    sortOptions = false,
    usageHelpAutoWidth = true,
    description = {
      "Runs the kvstore daemon: the tiered KV-cache store (hot, DRAM, SSD) served over the kvstore"
          + " wire protocol, with Prometheus metrics on HTTP.",
      "",
      "Settings come from built-in defaults, a configuration file, KVSTORE_* environment variables"
          + " and the flags below; each overrides the one before. Sizes take units: 64MiB, 1GiB,"
          + " 500MB. See docs/configuration.md.",
      ""
    },
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      "143:stopped gracefully on SIGTERM (130 on Ctrl-C): the JVM reports the signal",
      "1:could not start (a port in use, the data directory not writable, ...)",
      "2:bad configuration or command line"
    })
public final class KvStoreServerCommand implements Callable<Integer> {

  /** Exit code after a clean stop. */
  public static final int EXIT_OK = 0;
  /** Exit code when the daemon could not start (or stopped with errors). */
  public static final int EXIT_FAILED = 1;
  /** Exit code for a bad configuration or command line (picocli's usage error code too). */
  public static final int EXIT_BAD_CONFIG = 2;

  private static final Logger LOG = LoggerFactory.getLogger(KvStoreServerCommand.class);

  @Spec private CommandSpec spec;

  @Option(names = "--config", paramLabel = "FILE", order = 0,
      description = "Configuration file (key = value lines). Default: $" + ServerConfigLoader.CONFIG_FILE_ENV
          + ", else ./" + ServerConfigLoader.DEFAULT_FILE_NAME + " if it exists.")
  private Path configFile;

  @Option(names = ServerConfigLoader.AUTH_TOKEN_FLAG, paramLabel = "NAME=TOKEN:NAMESPACES", order = 1,
      description = "An auth grant (repeatable): TOKEN may use the listed hex namespace ids, or * for"
          + " all. Without any grant, auth is off. Env: " + ServerConfigLoader.AUTH_TOKEN_ENV_PREFIX
          + "NAME; file: " + ServerConfigLoader.AUTH_TOKEN_KEY_PREFIX + "NAME.")
  private List<String> authTokens = new ArrayList<>();

  @Option(names = PRINT_DIRECT_MEMORY_FLAG, order = 1_000,
      description = "Print the direct memory, in bytes, that the daemon needs with the given"
          + " settings (hot + DRAM tiers, write-back queue, request budget, plus 25%% headroom) and"
          + " exit without starting. bin/kvstore-server uses it to set -XX:MaxDirectMemorySize"
          + " when KVSTORE_JAVA_OPTS does not.")
  private boolean printDirectMemory;

  /** The flag that prints {@link ServerConfig#directMemoryNeeded()} and exits. */
  public static final String PRINT_DIRECT_MEMORY_FLAG = "--print-direct-memory";

  private final NetworkServerFactory networkFactory;
  private final Map<String, String> environment;
  private final Path workingDir;
  private final boolean installShutdownHook;
  private final CountDownLatch running = new CountDownLatch(1);
  private volatile KvStoreDaemon daemon;

  /** The command as {@link #main} runs it: real environment, factory found by ServiceLoader. */
  public KvStoreServerCommand() {
    this(null, System.getenv(), Path.of(""), true);
  }

  /**
   * A command with its surroundings given, for tests and embedding.
   *
   * @param networkFactory makes the network server; null to find it with {@link java.util.ServiceLoader}
   * @param environment the environment variables to read
   * @param workingDir where {@code kvstore.conf} is looked for
   * @param installShutdownHook whether SIGTERM / Ctrl-C stop the daemon (false in in-process tests,
   *     which call {@link #requestStop()} instead)
   */
  public KvStoreServerCommand(NetworkServerFactory networkFactory, Map<String, String> environment,
      Path workingDir, boolean installShutdownHook) {
    this.networkFactory = networkFactory;
    this.environment = Map.copyOf(environment);
    this.workingDir = Objects.requireNonNull(workingDir, "workingDir");
    this.installShutdownHook = installShutdownHook;
  }

  /**
   * Runs the daemon until SIGTERM or Ctrl-C, then exits with the command's exit code.
   *
   * @param args the command line
   */
  public static void main(String[] args) {
    System.exit(commandLine(new KvStoreServerCommand()).execute(args));
  }

  /**
   * Makes the picocli command line for a command, with one flag per {@link ConfigKey}.
   *
   * @param command the command
   * @return the command line, ready to {@code execute(args)}
   */
  public static CommandLine commandLine(KvStoreServerCommand command) {
    CommandLine cl = new CommandLine(command);
    CommandSpec s = cl.getCommandSpec();
    int order = 2;
    for (ConfigKey key : ConfigKey.values()) {
      s.addOption(OptionSpec.builder(key.flag())
          .type(String.class)
          .paramLabel(paramLabel(key))
          .order(order++)
          .description(key.description() + " Default: " + key.defaultValue() + ". Env: " + key.envVar() + ".")
          .build());
    }
    return cl;
  }

  private static String paramLabel(ConfigKey key) {
    String k = key.fileKey();
    if (k.endsWith(".bytes")) {
      return "SIZE";
    } else if (k.endsWith(".seconds")) {
      return "SECONDS";
    } else if (k.endsWith("host")) {
      return "HOST";
    } else if (k.endsWith("port")) {
      return "PORT";
    } else if (k.endsWith(".dir")) {
      return "DIR";
    } else if (key == ConfigKey.SSD_DURABILITY) {
      return "none|wal|sync";
    } else if (key == ConfigKey.EVICTION_POLICY || key == ConfigKey.SSD_ADMISSION) {
      return "NAME";
    } else if (key == ConfigKey.CLUSTER) {
      return "off|URI";
    } else if (key == ConfigKey.SHUTDOWN_FLUSH) {
      return "true|false";
    } else if (k.endsWith(".millis")) {
      return "MILLIS";
    }
    return "N";
  }

  @Override
  public Integer call() {
    LoadedConfig loaded;
    try {
      loaded = loadConfig();
    } catch (ConfigException e) {
      return badConfig(e);
    }
    if (printDirectMemory) {
      running.countDown();
      spec.commandLine().getOut().println(loaded.config().directMemoryNeeded());
      spec.commandLine().getOut().flush();
      return EXIT_OK;
    }
    NetworkServerFactory factory;
    try {
      factory = networkFactory != null
          ? networkFactory
          : NetworkServerFactory.load(KvStoreServerCommand.class.getClassLoader());
    } catch (IllegalStateException | ServiceConfigurationError e) {
      // A packaging problem, not a bug: the message says it all, a stack trace would bury it.
      running.countDown();
      return cannotStart(e);
    }
    KvStoreDaemon d;
    try {
      logStart(loaded);
      d = new KvStoreDaemon(loaded.config(), factory);
      daemon = d;
      if (installShutdownHook) {
        if (loaded.config().ssdBytes() > 0) {
          // Chronicle registers a hook of its own when the index first opens, which a signal
          // during the start would make fail: registered now instead.
          BlockIndex.initializeShutdownHooks();
        }
        // Installed before start: a signal during start waits for it, then stops what it opened.
        Runtime.getRuntime().addShutdownHook(new Thread(d::stop, "kvstore-shutdown"));
      }
      d.start();
    } catch (ConfigException e) {
      return badConfig(e);
    } catch (Exception e) {
      Throwable operators = operatorsMatter(e);
      if (operators != null) {
        // An operator's mistake or the host's state, with a complete message: no stack trace.
        LOG.error("could not start: {}", operators.getMessage());
        return cannotStart(operators);
      }
      LOG.error("could not start", e);
      return cannotStart(e);
    } finally {
      running.countDown();
    }
    LOG.info("started; SIGTERM or Ctrl-C stops it gracefully");
    try {
      d.awaitStopped();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      d.stop();
    }
    return d.stopFailed() ? EXIT_FAILED : EXIT_OK;
  }

  private LoadedConfig loadConfig() {
    ServerConfigLoader loader = new ServerConfigLoader()
        .environment(environment)
        .workingDir(workingDir)
        .configFile(configFile);
    for (ConfigKey key : ConfigKey.values()) {
      String value = spec.findOption(key.flag()).getValue();
      if (value != null) {
        loader.flag(key, value);
      }
    }
    authTokens.forEach(loader::authTokenFlag);
    return loader.load();
  }

  /**
   * The failure in {@code e}'s cause chain whose message says all an operator needs (the data
   * directory in use or unusable, the index directory in use, unusable or full, a port in use, the SSD tier's location records damaged or its
   * crash under another durability), or null.
   */
  private static Throwable operatorsMatter(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof DataDirInUseException
          || t instanceof IndexDirInUseException
          || t instanceof IndexDirFullException
          || t instanceof IndexDirUnusableException
          || t instanceof BlockIndex.NoRoomException
          || t instanceof DataDirUnusableException
          || t instanceof CannotStartException
          || (t instanceof SsdStorageException s && (s.corruptRecords() || s.wrongDurability()))) {
        return t;
      }
    }
    return null;
  }

  private int cannotStart(Throwable e) {
    spec.commandLine().getErr().println("kvstore-server: could not start: " + e.getMessage());
    spec.commandLine().getErr().flush();
    return EXIT_FAILED;
  }

  private int badConfig(ConfigException e) {
    spec.commandLine().getErr().println("kvstore-server: " + e.getMessage());
    spec.commandLine().getErr().flush();
    return EXIT_BAD_CONFIG;
  }

  private static void logStart(LoadedConfig loaded) {
    LOG.info("kvstore-server {} starting with:", Version.version());
    for (String line : loaded.describe()) {
      LOG.info("  {}", line);
    }
    for (String warning : loaded.warnings()) {
      LOG.warn("{}", warning);
    }
    ServerConfig c = loaded.config();
    if (!c.authGrants().enabled()) {
      LOG.warn("auth is OFF: any client may use any namespace (configure "
          + ServerConfigLoader.AUTH_TOKEN_KEY_PREFIX + "NAME grants to turn it on)");
    } else {
      LOG.info("auth is on: {} grant(s): {}", c.authGrants().grants().size(),
          c.authGrants().grants().stream().map(AuthGrant::name).toList());
    }
  }

  /**
   * Waits until {@link #call()} has started the daemon (or given up), for tests.
   *
   * @param timeout how long to wait
   * @return the daemon, or null if it was not made (bad configuration) or the wait timed out
   * @throws InterruptedException if interrupted
   */
  public KvStoreDaemon awaitRunning(Duration timeout) throws InterruptedException {
    return running.await(timeout.toNanos(), TimeUnit.NANOSECONDS) ? daemon : null;
  }

  /** Stops the daemon as SIGTERM would; {@link #call()} then returns. */
  public void requestStop() {
    KvStoreDaemon d = daemon;
    if (d != null) {
      d.stop();
    }
  }

  /** The version, from the build ({@code version.txt}, filtered by Maven). */
  static final class Version implements CommandLine.IVersionProvider {
    static String version() {
      try (InputStream in = KvStoreServerCommand.class.getResourceAsStream("version.txt")) {
        return in == null ? "(unknown version)" : new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
      } catch (IOException e) {
        return "(unknown version)";
      }
    }

    @Override
    public String[] getVersion() {
      return new String[] {"kvstore-server " + version()};
    }
  }
}
