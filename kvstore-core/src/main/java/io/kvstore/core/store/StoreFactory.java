package io.kvstore.core.store;

import io.kvstore.core.index.BlockIndex;
import io.kvstore.core.memory.HostDeviceMemory;
import io.kvstore.core.policy.AdmissionPolicy;
import io.kvstore.core.policy.EvictionPolicy;
import io.kvstore.core.policy.Policies;
import io.kvstore.core.policy.SeenTwiceAdmission;
import io.kvstore.core.tier.Tier;
import io.kvstore.core.tier.dram.DramTier;
import io.kvstore.core.tier.hot.HotTier;
import io.kvstore.core.tier.ssd.SsdTier;
import io.kvstore.core.tier.ssd.SsdTierConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/** Opens the tiers, the block index and the policies a {@link TieredStoreBuilder} describes. */
final class StoreFactory {

  private static final System.Logger LOG = System.getLogger(StoreFactory.class.getName());

  private StoreFactory() {}

  static TieredStore open(TieredStoreBuilder b) {
    Policies.create(b.policy, 1); // fail fast, naming the valid policies, before opening anything
    IntFunction<EvictionPolicy> policy = capacity -> Policies.create(b.policy, capacity);
    long wanted =
        b.ssdMaxPages > 0 ? b.ssdMaxPages : b.ssdBytes / b.ssdMinPageBytes;
    long ssdPages = Math.max(1, Math.min(SsdTierConfig.MAX_PAGES_LIMIT, wanted));
    AdmissionPolicy admission = admission(b.ssdAdmission, ssdPages);

    List<AutoCloseable> opened = new ArrayList<>();
    List<Tier> tiers = new ArrayList<>();
    BlockIndex index = null;
    DataDirLock dirLock = null;
    AutoCloseable dirLockAndHome = null;
    Path runtimeIndexDir = null;
    try {
      if (b.ssdBytes > 0) {
        // Before anything is opened or allocated, and released after everything is closed.
        dirLock = DataDirLock.acquire(b.dataDir);
        opened.add(dirLock);
      }
      if (b.hotBytes > 0) {
        int frame = b.hotFrameBytes > 0 ? b.hotFrameBytes : b.maxPageBytes;
        HotTier hot = HotTier.builder(b.hotBytes, frame).policy(policy).shards(b.memoryShards)
            .memory((slabs, slabBytes) -> new HostDeviceMemory(slabs, slabBytes, b.memoryPrefault))
            .build();
        opened.add(hot);
        tiers.add(b.memoryTierWrapper == null ? hot : b.memoryTierWrapper.apply(hot));
      }
      if (b.dramBytes > 0) {
        DramTier dram =
            DramTier.builder(b.dramBytes, b.maxPageBytes).policy(policy).shards(b.memoryShards)
                .prefault(b.memoryPrefault).build();
        opened.add(dram);
        tiers.add(b.memoryTierWrapper == null ? dram : b.memoryTierWrapper.apply(dram));
      }
      SsdTier ssd = null;
      if (b.ssdBytes > 0) {
        Files.createDirectories(b.dataDir);
        long entries = b.indexMaxEntries > 0 ? b.indexMaxEntries : indexEntries(b, ssdPages);
        // Before the index home moves or deletes any copy of the index: a tier that crashed under
        // another kind of durability is refused here, with nothing changed.
        SsdTier.claimDurability(b.dataDir.resolve("ssd"), b.ssdDurability);
        IndexHome home = indexHome(b, entries);
        IndexHome.recordLiveDir(b.dataDir, home.liveDir());
        // The lock's close copies an index that runs from a memory file system back to the data
        // directory first (after the index closed), then releases the directory.
        DataDirLock lock = dirLock;
        dirLockAndHome =
            () -> {
              try {
                home.close();
              } finally {
                lock.close();
              }
            };
        opened.set(opened.indexOf(dirLock), dirLockAndHome);
        Path indexDir = home.liveDir();
        Path journalDir = home.runtime() ? indexDir : null;
        runtimeIndexDir = journalDir;
        // After a crash the index the killed process left is kept if nothing in it can be torn;
        // otherwise the SSD tier rebuilds its directory from its logged location records.
        index =
            SsdTier.openIndex(
                b.dataDir.resolve("ssd"), indexDir, journalDir, entries, b.ssdDurability);
        opened.add(index);
        // The memory tiers are empty after a restart: whatever the index says of them (their bits,
        // the dirty flags) is stale. A new index (the first start, or after a crash with wal or
        // sync) says nothing, and visiting every segment of one sized for millions of entries
        // took 76 ms of CPU in a profile of a daemon's start.
        if (!index.created()) {
          index.clearVolatileTiers();
        }
        // Memory pages never take the SSD tier's share: a put that would is refused (counted),
        // never a throw in the SSD writers.
        index.limitMemoryEntries(memoryEntryLimit(entries, ssdPages));
        ssd =
            SsdTier.open(
                SsdTierConfig.builder(b.dataDir.resolve("ssd"), b.ssdBytes)
                    .maxPageBytes(Math.max(b.maxPageBytes, SsdTierConfig.DEFAULT_MAX_PAGE_BYTES))
                    .maxPages((int) ssdPages)
                    .durability(b.ssdDurability)
                    .discardCorruptRecords(b.ssdDiscardCorruptRecords)
                    .fitToDisk(b.ssdFitToDisk)
                    // The index running from a memory file system is copied to the data
                    // directory at each clean close: a tier fitted to that disk leaves it room.
                    .diskBytesAside(home.runtime() ? BlockIndex.bytesFor(entries) : 0)
                    .journalDir(journalDir)
                    .policyFactory(policy)
                    .build(),
                index);
        opened.add(ssd);
        tiers.add(b.ssdTierWrapper == null ? ssd : b.ssdTierWrapper.apply(ssd));
      }
      SsdTier ssdTier = ssd;
      BlockIndex idx = index;
      TieredStore store =
          new TieredStore(
              tiers,
              admission,
              ssdTier == null ? null : ssdTier::corruptions,
              idx,
              dirLockAndHome != null ? dirLockAndHome : dirLock,
              b);
      if (runtimeIndexDir != null) {
        store.indexRuntimeDir(runtimeIndexDir);
      }
      return store;
    } catch (IOException e) {
      UncheckedIOException failure =
          new UncheckedIOException("cannot create the data directory " + b.dataDir, e);
      closeAll(opened, failure);
      throw failure;
    } catch (RuntimeException e) {
      closeAll(opened, e);
      throw e;
    }
  }

  /**
   * Where the block index runs: the directory the builder names, the one {@link
   * TieredStoreBuilder#indexDirAuto} picks, or the data directory.
   */
  private static IndexHome indexHome(TieredStoreBuilder b, long entries) {
    IndexHome.removeUnfinishedCopy(b.dataDir);
    Path runtime = b.indexDir;
    boolean auto = false;
    if (b.indexDirAuto) {
      if (b.ssdDurability == SsdTierConfig.Durability.NONE) {
        LOG.log(
            System.Logger.Level.INFO,
            "the block index runs from the data directory (ssd.durability none: a restart after a"
                + " machine crash recovers the index it finds there)");
      } else {
        runtime = IndexHome.autoRuntimeDir(b.dataDir, BlockIndex.bytesFor(entries)).orElse(null);
        auto = runtime != null;
        if (runtime == null) {
          LOG.log(
              System.Logger.Level.WARNING,
              "the block index runs from the data directory {0}: /dev/shm is not a tmpfs with room"
                  + " for twice its {1} bytes; a frozen or stalled data disk then stalls the whole"
                  + " store (set index.dir to a tmpfs directory, or give /dev/shm more room)",
              b.dataDir.resolve(IndexHome.DATA_SUBDIR),
              BlockIndex.bytesFor(entries));
        }
      }
    }
    // After a crash, the index (and the crash journal) are where the killed run kept them: if
    // index.dir changed since, this start recovers them there, and the new place is taken at the
    // next start after a clean stop. Elsewhere the killed run's index would stay on its memory
    // file system for good, and the tombstones of its journal would not be applied.
    Path own = b.dataDir.resolve(IndexHome.DATA_SUBDIR).toAbsolutePath().normalize();
    Path wanted = runtime == null ? own : runtime.toAbsolutePath().normalize();
    Path last = IndexHome.lastLiveDir(b.dataDir);
    if (last != null && !last.equals(wanted) && IndexHome.leftByKilledRun(b.dataDir, last)) {
      LOG.log(
          System.Logger.Level.WARNING,
          "the last run was killed with the block index and crash journal in {0}: this start"
              + " recovers them there; {1} (index.dir) is used from the next start after a clean"
              + " stop",
          last,
          wanted);
      runtime = last.equals(own) ? null : last;
      auto = false;
    }
    if (runtime == null || runtime.toAbsolutePath().normalize().equals(own)) {
      return IndexHome.inDataDir(b.dataDir); // the data directory's own place: nothing to copy
    }
    IndexHome home;
    try {
      home = IndexHome.inRuntimeDir(b.dataDir, runtime, BlockIndex.bytesFor(entries));
    } catch (IndexDirFullException e) {
      if (!auto) {
        throw e;
      }
      // auto found room a moment ago (or the data directory's copy is larger than a new index):
      // the store still starts, at the data disk's speed.
      LOG.log(
          System.Logger.Level.WARNING,
          "the block index runs from the data directory {0}: {1}",
          own,
          e.room());
      return IndexHome.inDataDir(b.dataDir);
    }
    LOG.log(
        System.Logger.Level.INFO,
        "the block index runs from {0}; {1} gets a copy at each clean stop",
        home.liveDir(),
        b.dataDir.resolve(IndexHome.DATA_SUBDIR));
    return home;
  }

  /**
   * Entries the block index is sized for: every SSD page, plus room for the pages of the memory
   * tiers, which the index also records (a page in memory need not be on SSD): at least as many
   * again as the SSD tier holds (the room of earlier versions), more when the memory tiers can
   * hold more pages of the declared smallest size ({@code ssdMinPageBytes}) than the SSD tier.
   */
  static long indexEntries(TieredStoreBuilder b, long ssdPages) {
    long memoryPages = (b.hotBytes + b.dramBytes) / b.ssdMinPageBytes;
    return Math.max(1024, ssdPages + Math.max(ssdPages, memoryPages));
  }

  /**
   * Entries of an index of {@code entries} the memory tiers may hold: all but the SSD tier's
   * pages, and at least half of the index (an index sized by hand smaller than the SSD tier, as in
   * tests, still takes memory pages).
   */
  static long memoryEntryLimit(long entries, long ssdPages) {
    return Math.max(1, entries - Math.min(ssdPages, entries / 2));
  }

  private static AdmissionPolicy admission(String name, long expectedKeys) {
    switch (name) {
      case "always":
        return AdmissionPolicy.ALWAYS;
      case "seen-twice":
        return new SeenTwiceAdmission((int) Math.min(Integer.MAX_VALUE, Math.max(1024, expectedKeys)));
      default:
        throw new IllegalArgumentException(
            "unknown SSD admission policy '" + name + "'; valid: always, seen-twice");
    }
  }

  /** Closes what was opened before a failure, newest first, keeping the failure as the cause. */
  private static void closeAll(List<AutoCloseable> opened, RuntimeException failure) {
    for (int i = opened.size() - 1; i >= 0; i--) {
      try {
        opened.get(i).close();
      } catch (Exception e) {
        failure.addSuppressed(e);
      }
    }
  }
}
