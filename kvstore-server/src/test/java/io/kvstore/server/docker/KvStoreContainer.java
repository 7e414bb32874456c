package io.kvstore.server.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.HealthCheck;
import io.kvstore.client.KeyChain;
import io.kvstore.client.KvStoreClient;
import io.kvstore.common.Namespace;
import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.LoggerFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.output.Slf4jLogConsumer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

/**
 * The daemon running in its image, as an operator runs it: data on a named volume, the protocol
 * and metrics ports published, configured through {@code KVSTORE_*} variables. {@link #start()}
 * returns once Docker reports the container healthy, so every start also tests the image's
 * health check.
 */
final class KvStoreContainer extends GenericContainer<KvStoreContainer> {

  /** The protocol port inside the container. */
  static final int PORT = 7421;
  /** The metrics port inside the container. */
  static final int METRICS_PORT = 9464;

  /** Seconds docker stop waits after SIGTERM before it kills: above the grace set below. */
  private static final int STOP_TIMEOUT_SECONDS = 60;
  private static final Duration STARTUP_TIMEOUT = Duration.ofMinutes(3);
  private static final long HEALTH_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(1);

  /**
   * A container of {@link KvStoreImage} on a volume (not started).
   *
   * @param volume mounted at /data, the daemon's data directory
   */
  KvStoreContainer(DockerVolume volume) {
    super(DockerImageName.parse(KvStoreImage.get()));
    withExposedPorts(PORT, METRICS_PORT);
    // The image's health check, polled every second instead of every 10 s: same command, same
    // endpoint, a quicker test.
    withCreateContainerCmdModifier(cmd -> {
      cmd.getHostConfig().withBinds(volume.at("/data"));
      cmd.withHealthcheck(new HealthCheck().withInterval(HEALTH_INTERVAL_NANOS));
    });
    withEnv("KVSTORE_SHUTDOWN_GRACE_SECONDS", "10");
    // The daemon's log in the test output, so that a failure can be read next to its cause.
    withLogConsumer(new Slf4jLogConsumer(LoggerFactory.getLogger("kvstore-container")));
    waitingFor(Wait.forHealthcheck().withStartupTimeout(STARTUP_TIMEOUT));
  }

  /**
   * Sets the capacities of the three tiers.
   *
   * @return this
   */
  KvStoreContainer withTiers(String hot, String dram, String ssd) {
    return withEnv("KVSTORE_HOT_BYTES", hot).withEnv("KVSTORE_DRAM_BYTES", dram)
        .withEnv("KVSTORE_SSD_BYTES", ssd);
  }

  /** An SDK client of the daemon through the published protocol port, for {@code namespace}. */
  KvStoreClient client(Namespace namespace) {
    return KvStoreClient.builder()
        .address(getHost(), getMappedPort(PORT))
        .keyChain(KeyChain.of(namespace))
        .requestTimeout(Duration.ofSeconds(30))
        .build();
  }

  /**
   * GET on the published metrics port (a connection per call: no client thread outlives it).
   *
   * @param path e.g. {@code /metrics}
   * @return the status code and the body
   */
  HttpAnswer httpGet(String path) throws IOException {
    URL url = new URL("http", getHost(), getMappedPort(METRICS_PORT), path);
    HttpURLConnection connection = (HttpURLConnection) url.openConnection();
    try {
      connection.setConnectTimeout(10_000);
      connection.setReadTimeout(30_000);
      int status = connection.getResponseCode();
      try (InputStream in = status < 400 ? connection.getInputStream() : connection.getErrorStream()) {
        return new HttpAnswer(status, in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8));
      }
    } finally {
      connection.disconnect();
    }
  }

  /**
   * An HTTP answer.
   *
   * @param status the status code
   * @param body the body as text
   */
  record HttpAnswer(int status, String body) {}

  /** Docker's health status of the container: starting, healthy or unhealthy. */
  String healthStatus() {
    return getCurrentContainerInfo().getState().getHealth().getStatus();
  }

  /**
   * {@code docker stop}: SIGTERM, then SIGKILL only if the daemon outlives the stop timeout.
   *
   * @return the exit status and everything the daemon wrote
   */
  ContainerExit sigterm() {
    DockerClient docker = getDockerClient();
    docker.stopContainerCmd(getContainerId()).withTimeout(STOP_TIMEOUT_SECONDS).exec();
    Long code = docker.inspectContainerCmd(getContainerId()).exec().getState().getExitCodeLong();
    return new ContainerExit(code == null ? -1 : code.intValue(), getLogs());
  }
}
