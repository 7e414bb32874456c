package io.kvstore.server.docker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.api.model.ContainerConfig;
import com.github.dockerjava.api.model.ExposedPort;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.testcontainers.DockerClientFactory;

/**
 * The image itself, before any daemon runs in it: what docker/Dockerfile promises operators (a
 * non-root user, the data directory on a volume it owns, the two ports, a health check) and that
 * its JRE starts with the project's JVM flags.
 */
@ExtendWith(DockerEngineExtension.class)
class KvStoreImageIT {

  @Test
  void shouldDeclareNonRootUserDataVolumePortsAndHealthCheck() {
    ContainerConfig config = DockerClientFactory.instance().client()
        .inspectImageCmd(KvStoreImage.get()).exec().getConfig();
    assertNotNull(config, "image config");

    assertEquals("kvstore", config.getUser());
    assertTrue(config.getVolumes().containsKey("/data"), "volumes: " + config.getVolumes());
    List<ExposedPort> ports = Arrays.asList(config.getExposedPorts());
    assertTrue(ports.contains(ExposedPort.tcp(7421)) && ports.contains(ExposedPort.tcp(9464)),
        "exposed ports: " + ports);
    assertNotNull(config.getHealthcheck(), "no HEALTHCHECK");
    assertEquals(List.of("CMD", "/bin/bash", "/opt/kvstore/kvstore-healthcheck"),
        config.getHealthcheck().getTest());
    List<String> env = Arrays.asList(config.getEnv());
    assertTrue(env.contains("KVSTORE_HOST=0.0.0.0") && env.contains("KVSTORE_DATA_DIR=/data"),
        "the daemon must listen on every interface and keep its data on the volume: " + env);
  }

  @Test
  void shouldRunAsTheDaemonUserOwningAFreshDataVolume() throws Exception {
    try (DockerVolume volume = DockerVolume.create()) {
      ContainerExit exit = ContainerExit.run(KvStoreImage.get(), volume,
          "/bin/bash", "-c", "id -u; stat -c '%u %a' /data; touch /data/probe && echo writable");

      assertEquals(0, exit.code(), exit.output());
      // A new named volume takes the image's /data: owned by the daemon's uid, closed to others.
      assertEquals(KvStoreImage.UID + "\n" + KvStoreImage.UID + " 750\nwritable\n", exit.output());
    }
  }

  @Test
  void shouldReportUnhealthyWhileTheProtocolPortIsNotListening() throws Exception {
    // /health alone is not readiness: the daemon answers it before its protocol server listens.
    ContainerExit exit = ContainerExit.run(KvStoreImage.get(), null,
        "/bin/bash", "/opt/kvstore/kvstore-healthcheck");

    assertEquals(1, exit.code(), exit.output());
    assertEquals("the protocol port 7421 is not listening (yet)\n", exit.output());
  }

  @Test
  void shouldStartTheJreWithTheProjectJvmFlags() throws Exception {
    String flags = Files.readString(Path.of("..", "bin", "jvm-flags"), StandardCharsets.UTF_8).strip();

    ContainerExit exit = ContainerExit.run(KvStoreImage.get(), null, "/bin/bash", "-c",
        "cat /opt/kvstore/jvm-flags && read -r -a f < /opt/kvstore/jvm-flags"
            + " && java \"${f[@]}\" -XshowSettings:properties -version 2>&1"
            + " | grep -E 'java.specification.version|Unrecognized|Error'");

    assertEquals(0, exit.code(), exit.output());
    String[] lines = exit.output().split("\n");
    assertEquals(flags, lines[0].strip(), "the image must carry bin/jvm-flags unchanged");
    // The JVM rejects an unknown option before printing settings: reaching them proves it took the flags.
    assertEquals(2, lines.length, exit.output());
    int version = Integer.parseInt(lines[1].replaceAll(".*=\\s*", "").strip());
    assertTrue(version >= 17, "the daemon needs Java 17+: " + lines[1]);
  }

  @Test
  void shouldStartTheDaemonWithTheClassArchiveMadeAtBuildTime() throws Exception {
    // The entry point as the image runs it (the image's own JVM options, one logging flag added):
    // the daemon's classes must come from the archive, not from the jars.
    ContainerExit exit = ContainerExit.run(KvStoreImage.get(), null, "/bin/bash", "-c",
        "ls -l /opt/kvstore/kvstore.jsa | cut -d' ' -f1"
            + " && KVSTORE_JAVA_OPTS=\"$KVSTORE_JAVA_OPTS -Xlog:class+load=info\""
            + " /bin/bash /opt/kvstore/kvstore-entrypoint --version"
            + " | grep -E '(KvStoreServerCommand|TieredStore|ChronicleMap|RocksDB) |warning|^kvstore-server '");

    assertEquals(0, exit.code(), exit.output());
    String out = exit.output();
    assertTrue(out.startsWith("-r--r--r--\n"), "the archive must be there, read-only for all: " + out);
    assertTrue(
        out.contains("io.kvstore.server.KvStoreServerCommand source: shared objects file (top)"),
        "the daemon's main class from the image's archive: " + out);
    assertTrue(out.contains("kvstore-server "), "and the daemon ran: " + out);
    assertTrue(!out.contains("warning"), "the JVM used the archive without a warning: " + out);
  }
}
