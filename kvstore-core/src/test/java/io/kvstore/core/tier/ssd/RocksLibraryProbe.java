package io.kvstore.core.tier.ssd;

import java.nio.file.Path;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;

/**
 * Run in a fresh JVM by {@link RocksLibraryTest}: loads RocksDB's library through {@link
 * RocksLibrary} from {@code args[0]}, opens and closes a RocksDB in {@code args[1]} (the library
 * works), and prints how it was loaded.
 */
public final class RocksLibraryProbe {

  private RocksLibraryProbe() {}

  public static void main(String[] args) throws Exception {
    RocksLibrary.Outcome outcome = RocksLibrary.load(Path.of(args[0]));
    try (Options o = new Options().setCreateIfMissing(true);
        RocksDB db = RocksDB.open(o, args[1])) {
      db.put(new byte[] {1}, new byte[] {2});
      if (db.get(new byte[] {1})[0] != 2) {
        throw new IllegalStateException("RocksDB does not read back what it wrote");
      }
    }
    System.out.println("outcome=" + outcome);
  }
}
