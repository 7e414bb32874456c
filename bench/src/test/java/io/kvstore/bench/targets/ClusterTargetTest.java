package io.kvstore.bench.targets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.common.PageFormat;
import io.kvstore.server.KvStoreDaemon;
import io.kvstore.server.config.ServerConfig;
import io.kvstore.server.net.KvStoreNetworkServerFactory;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The cluster target over three in-process daemons: the target contract, and chains by position. */
class ClusterTargetTest {

  private static final int PAYLOAD = 8 << 10;

  @TempDir Path dir;

  @Test
  void shouldRoundTripUnchainedPagesAndChainsInBatches() throws Exception {
    List<KvStoreDaemon> daemons = new ArrayList<>();
    StringBuilder uri = new StringBuilder("static://");
    try {
      for (int i = 0; i < 3; i++) {
        KvStoreDaemon d = new KvStoreDaemon(ServerConfig.builder().host("127.0.0.1").port(0).metricsPort(0)
            .dataDir(dir.resolve("d" + i)).hotBytes(0).dramBytes(8 << 20).ssdBytes(0)
            .maxPageBytes(PageFormat.pageLength(PAYLOAD)).shutdownGraceSeconds(1).build(),
            new KvStoreNetworkServerFactory());
        daemons.add(d);
        d.start();
        uri.append(i == 0 ? "" : ",").append("127.0.0.1:").append(d.networkPort());
      }
      try (ClusterTarget t = ClusterTarget.connect(uri.toString(), "", TargetContract.NAMESPACE, 2, 1)) {
        TargetContract.roundTrip(t, PAYLOAD, 12, true);
        // a chain of 20 blocks stored from block 7 in batches of 5 and fetched from 0 in batches of 6
        int blocks = 20;
        long[] chain = new long[2 * blocks];
        for (int i = 0; i < blocks; i++) {
          chain[2 * i] = 0x7000 + i;
          chain[2 * i + 1] = 0x8000 + i;
        }
        ByteBuffer template = BenchPages.payloadTemplate(PAYLOAD, 5);
        int length = PageFormat.pageLength(PAYLOAD);
        try (Session s = t.openSession()) {
          for (int b = 0; b < blocks; b += 5) {
            ByteBuffer[] pages = new ByteBuffer[5];
            for (int i = 0; i < 5; i++) {
              pages[i] = ByteBuffer.allocateDirect(length);
              BenchPages.build(pages[i], template, chain[2 * (b + i)], chain[2 * (b + i) + 1], 0, 0,
                  TargetContract.NAMESPACE, 16, PAYLOAD);
            }
            assertEquals(5, s.put(chain, b, pages, 5));
          }
          ByteBuffer[] dsts = new ByteBuffer[6];
          for (int i = 0; i < 6; i++) {
            dsts[i] = ByteBuffer.allocateDirect(length);
          }
          for (int b = 0; b < blocks; b += 6) {
            int n = Math.min(6, blocks - b);
            long[] keys = java.util.Arrays.copyOfRange(chain, 2 * b, 2 * (b + n));
            assertEquals(n, s.fetchPrefix(chain, b, keys, n, dsts), "batch at " + b);
            for (int i = 0; i < n; i++) {
              assertTrue(BenchPages.verify(dsts[i], keys[2 * i], keys[2 * i + 1], TargetContract.NAMESPACE,
                  length), "block " + (b + i));
            }
          }
        }
        assertEquals(3, t.stats().liveMembers());
        assertTrue(t.stats().perMember().values().stream().allMatch(m -> m.requests() > 0), t.stats().toString());
        assertEquals(TierCounters.NONE, t.counters(), "a cluster connected to reports no tier counters");
      }
    } finally {
      for (KvStoreDaemon d : daemons) {
        d.stop();
      }
    }
  }

  @Test
  void shouldExplainAClusterTargetWithoutACluster() {
    TargetOptions o = new TargetOptions();
    new CommandLine(o).parseArgs("--target", "cluster");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, o::validate);
    assertTrue(e.getMessage().contains("--cluster URI and --start-cluster N"), e.getMessage());
    TargetOptions bad = new TargetOptions();
    new CommandLine(bad).parseArgs("--target", "cluster", "--cluster", "etcd://h:2379");
    assertThrows(IllegalArgumentException.class, bad::validate);
  }
}
