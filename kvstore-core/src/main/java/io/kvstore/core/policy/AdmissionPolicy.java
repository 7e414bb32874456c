package io.kvstore.core.policy;

/**
 * Decides whether a page may enter a tier (used for the SSD tier, to save flash writes). Thread-safe.
 */
public interface AdmissionPolicy {

  /** Admits everything. */
  AdmissionPolicy ALWAYS = new AdmissionPolicy() {
        @Override
        public String name() {
          return "always";
        }

        @Override
        public void record(long keyHi, long keyLo) {}

        @Override
        public boolean admit(long keyHi, long keyLo) {
          return true;
        }
      };

  /** A short name for reports. */
  String name();

  /** The key was seen (put or requested) by the store. */
  void record(long keyHi, long keyLo);

  /** Whether the page with this key may be written to the tier now. */
  boolean admit(long keyHi, long keyLo);
}
