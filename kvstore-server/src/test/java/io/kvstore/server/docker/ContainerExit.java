package io.kvstore.server.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.HostConfig;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.testcontainers.DockerClientFactory;

/**
 * How a command run to its end in a fresh container of an image ended: for checks of the image
 * itself (its user, its volume, its JRE) that need no daemon.
 *
 * @param code the exit status
 * @param output stdout and stderr, interleaved as written
 */
record ContainerExit(int code, String output) {

  private static final int TIMEOUT_SECONDS = 120;

  /**
   * Runs a command in place of the image's entry point, then removes the container.
   *
   * @param image the image
   * @param volume mounted at /data, or null for the image's own anonymous volume
   * @param command the entry point and its arguments
   * @return how it ended
   * @throws InterruptedException if interrupted while waiting
   */
  static ContainerExit run(String image, DockerVolume volume, String... command)
      throws InterruptedException {
    DockerClient docker = DockerClientFactory.instance().client();
    HostConfig host = HostConfig.newHostConfig();
    if (volume != null) {
      host.withBinds(volume.at("/data"));
    }
    String id = docker.createContainerCmd(image).withEntrypoint(command).withCmd()
        .withHostConfig(host).exec().getId();
    try {
      docker.startContainerCmd(id).exec();
      int code = docker.waitContainerCmd(id).start().awaitStatusCode(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      StringBuilder output = new StringBuilder();
      docker.logContainerCmd(id).withStdOut(true).withStdErr(true)
          .exec(new ResultCallback.Adapter<Frame>() {
            @Override
            public void onNext(Frame frame) {
              output.append(new String(frame.getPayload(), StandardCharsets.UTF_8));
            }
          })
          .awaitCompletion(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      return new ContainerExit(code, output.toString());
    } finally {
      docker.removeContainerCmd(id).withForce(true).withRemoveVolumes(true).exec();
    }
  }
}
