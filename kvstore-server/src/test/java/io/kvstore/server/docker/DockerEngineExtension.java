package io.kvstore.server.docker;

import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.testcontainers.DockerClientFactory;

/**
 * Runs a test class only where a Docker engine answers. Without one, the class is skipped with a
 * message that says so, because a developer's machine need not have Docker; except where
 * {@value #REQUIRE_ENV}{@code =1} (set by {@code .ci/run}, which starts an engine itself), since
 * there a missing engine is a broken CI machine, and skipping would hide that the image was never
 * tested: then the class fails.
 *
 * <p>The skip is a disabling condition rather than an assumption in {@code @BeforeAll}: failsafe
 * reports a class aborted there as a failure, a disabled one as skipped.
 */
public final class DockerEngineExtension implements ExecutionCondition, BeforeAllCallback {

  /** The environment variable that turns a missing engine from a skip into a failure. */
  public static final String REQUIRE_ENV = "KVSTORE_REQUIRE_DOCKER";

  private static String problem;
  private static boolean probed;

  @Override
  public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
    String why = whyNoEngine();
    if (why == null) {
      return ConditionEvaluationResult.enabled("a Docker engine answers");
    }
    if (required()) {
      // Enabled, so that beforeAll runs and fails the class.
      return ConditionEvaluationResult.enabled(REQUIRE_ENV + "=1");
    }
    String message = "skipped: " + why + ". Start one (see docker/README.md) to test the image.";
    if (context.getTestMethod().isEmpty()) {
      // Failsafe puts skip reasons only in its XML reports; say it once per class where people look.
      System.err.println("[docker] " + context.getDisplayName() + " " + message);
    }
    return ConditionEvaluationResult.disabled(message);
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    String why = whyNoEngine();
    if (why != null && required()) {
      throw new AssertionError(REQUIRE_ENV + "=1, so the image tests must run, but " + why);
    }
  }

  private static boolean required() {
    return "1".equals(System.getenv(REQUIRE_ENV));
  }

  /** Null if the engine answers, else why not (Testcontainers' own diagnosis); probed once. */
  private static synchronized String whyNoEngine() {
    if (!probed) {
      probed = true;
      try {
        DockerClientFactory.instance().client();
      } catch (RuntimeException e) {
        String message = e.getMessage() == null ? e.getClass().getName() : e.getMessage();
        problem = "no Docker engine answers (DOCKER_HOST="
            + System.getenv().getOrDefault("DOCKER_HOST", "unset") + "): "
            + message.lines().findFirst().orElse(message);
      }
    }
    return problem;
  }
}
