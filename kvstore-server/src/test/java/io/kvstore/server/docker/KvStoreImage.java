package io.kvstore.server.docker;

import com.github.dockerjava.api.command.BuildImageCmd;
import com.github.dockerjava.api.command.BuildImageResultCallback;
import com.github.dockerjava.api.model.BuildResponseItem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.testcontainers.DockerClientFactory;

/**
 * The daemon's image as the tests use it: built once per test JVM from the build context that
 * {@code mvn package} assembles in {@code kvstore-server/target/docker} (docker/Dockerfile and
 * its scripts, bin/jvm-flags, the runtime jars), exactly as docker/README.md tells operators to.
 *
 * <p>The base image is the Dockerfile's default unless {@value #BASE_IMAGE_ENV} names another
 * (CI sets it to the registry-free {@code kvstore-base:bookworm-jre17}). The build never pulls:
 * where no registry is reachable, a pull would fail even for a base image that is present.
 */
final class KvStoreImage {

  /** Environment variable: the base image to build on (the Dockerfile's BASE_IMAGE argument). */
  static final String BASE_IMAGE_ENV = "KVSTORE_BASE_IMAGE";
  /** System property set by the pom: the assembled build context. */
  static final String CONTEXT_PROPERTY = "kvstore.docker.context";
  /** The tag the tests build; rebuilt on every run, cached layers keep that quick. */
  static final String TAG = "kvstore:it";
  /** The uid the Dockerfile gives the daemon's user. */
  static final int UID = 10001;

  private static final long BUILD_TIMEOUT_MINUTES = 10;
  private static String built;
  private static RuntimeException failure;

  private KvStoreImage() {}

  /**
   * Builds the image if this JVM has not yet.
   *
   * @return the image's tag
   * @throws IllegalStateException if the build failed (now or in an earlier call), with its output
   */
  static synchronized String get() {
    if (built == null && failure == null) {
      try {
        built = build();
      } catch (RuntimeException e) {
        // Every test would fail the same way: build once, report the cause to each.
        failure = e;
      }
    }
    if (failure != null) {
      throw failure;
    }
    return built;
  }

  private static String build() {
    Path context = Path.of(System.getProperty(CONTEXT_PROPERTY, "target/docker"));
    if (!Files.isRegularFile(context.resolve("Dockerfile"))) {
      throw new IllegalStateException("no Dockerfile in " + context.toAbsolutePath()
          + ": the image's build context is assembled by `./mvnw package` (kvstore-server)");
    }
    BuildImageCmd cmd = DockerClientFactory.instance().client()
        .buildImageCmd(context.toFile())
        .withTags(Set.of(TAG))
        .withPull(false)
        .withRemove(true);
    String base = System.getenv(BASE_IMAGE_ENV);
    if (base != null && !base.isBlank()) {
      cmd.withBuildArg("BASE_IMAGE", base);
    }
    StringBuilder log = new StringBuilder();
    BuildImageResultCallback callback = new BuildImageResultCallback() {
      @Override
      public void onNext(BuildResponseItem item) {
        if (item.getStream() != null) {
          log.append(item.getStream());
        }
        super.onNext(item);
      }
    };
    try {
      cmd.exec(callback).awaitImageId(BUILD_TIMEOUT_MINUTES, TimeUnit.MINUTES);
    } catch (RuntimeException e) {
      throw new IllegalStateException("docker build of " + context.toAbsolutePath() + " (base image "
          + (base == null ? "the Dockerfile's default" : base) + ") failed: " + e.getMessage()
          + "\n--- build output ---\n" + log, e);
    }
    return TAG;
  }
}
