package io.kvstore.server.docker;

import com.github.dockerjava.api.model.Bind;
import com.github.dockerjava.api.model.Volume;
import java.util.UUID;
import org.testcontainers.DockerClientFactory;

/**
 * A named Docker volume owned by one test: the daemon's data directory outlives a container on it,
 * as it does for an operator. {@link #close()} removes it (after the containers that used it).
 */
final class DockerVolume implements AutoCloseable {

  private final String name;

  private DockerVolume(String name) {
    this.name = name;
  }

  /** Creates an empty volume with a name no other run uses. */
  static DockerVolume create() {
    String name = "kvstore-it-" + UUID.randomUUID();
    DockerClientFactory.instance().client().createVolumeCmd().withName(name).exec();
    return new DockerVolume(name);
  }

  /** The volume's name. */
  String name() {
    return name;
  }

  /** A bind of this volume at {@code path} in a container. */
  Bind at(String path) {
    return new Bind(name, new Volume(path));
  }

  @Override
  public void close() {
    DockerClientFactory.instance().client().removeVolumeCmd(name).exec();
  }
}
