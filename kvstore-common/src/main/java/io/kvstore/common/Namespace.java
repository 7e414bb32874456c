package io.kvstore.common;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/**
 * Whose KV a page holds and in which layout: model id, KV layout (dtype, layers, KV heads, head
 * dimension, block size, tensor-parallel rank and world size) and tenant, as specified in {@code
 * spec/1-block-key.md} section 1.3.
 *
 * <p>Immutable and thread-safe. The canonical encoding, its SHA-256 {@link #digest()} and the 64-bit
 * {@link #id()} are computed once at construction, because the digest goes into every block key.
 * Two namespaces are equal exactly when their canonical encodings are equal.
 *
 * <pre>{@code
 * Namespace ns = Namespace.builder()
 *     .modelId("meta-llama/Llama-3.1-8B-Instruct").dtype("bfloat16")
 *     .numLayers(32).numKvHeads(8).headDim(128).blockSize(16)
 *     .build();
 * }</pre>
 */
public final class Namespace {

  /** Version of the canonical encoding, hashed into it (spec 1.3). */
  public static final int ENCODING_VERSION = 1;
  /** Largest {@code modelId}, in UTF-8 bytes. */
  public static final int MAX_MODEL_ID_BYTES = 1024;
  /** Largest {@code dtype}, in bytes. */
  public static final int MAX_DTYPE_BYTES = 32;
  /** Largest {@code tenant}, in UTF-8 bytes. */
  public static final int MAX_TENANT_BYTES = 1024;
  /** Largest block size, in tokens. */
  public static final int MAX_BLOCK_SIZE = 1 << 20;

  /** "KVNS": domain-separation tag of the canonical encoding. */
  private static final byte[] TAG = {'K', 'V', 'N', 'S'};

  private final String modelId;
  private final String dtype;
  private final int numLayers;
  private final int numKvHeads;
  private final int headDim;
  private final int blockSize;
  private final int tpRank;
  private final int tpWorldSize;
  private final String tenant;
  private final byte[] encoding;
  private final byte[] digest;
  private final long id;

  private Namespace(Builder b) {
    modelId = b.modelId;
    dtype = b.dtype;
    numLayers = b.numLayers;
    numKvHeads = b.numKvHeads;
    headDim = b.headDim;
    blockSize = b.blockSize;
    tpRank = b.tpRank;
    tpWorldSize = b.tpWorldSize;
    tenant = b.tenant;
    byte[] model = utf8("modelId", modelId, 1, MAX_MODEL_ID_BYTES);
    byte[] type = dtypeBytes(dtype);
    byte[] ten = utf8("tenant", tenant, 0, MAX_TENANT_BYTES);
    requireRange("numLayers", numLayers, 1, Integer.MAX_VALUE);
    requireRange("numKvHeads", numKvHeads, 1, Integer.MAX_VALUE);
    requireRange("headDim", headDim, 1, Integer.MAX_VALUE);
    requireRange("blockSize", blockSize, 1, MAX_BLOCK_SIZE);
    requireRange("tpWorldSize", tpWorldSize, 1, Integer.MAX_VALUE);
    if (tpRank < 0 || tpRank >= tpWorldSize) {
      throw new IllegalArgumentException(
          "tpRank must be in 0.." + (tpWorldSize - 1) + " for tpWorldSize " + tpWorldSize
              + ", got " + tpRank);
    }
    ByteBuffer enc =
        ByteBuffer.allocate(TAG.length + 4 * 10 + model.length + type.length + ten.length)
            .order(ByteOrder.LITTLE_ENDIAN);
    enc.put(TAG).putInt(ENCODING_VERSION);
    enc.putInt(model.length).put(model);
    enc.putInt(type.length).put(type);
    enc.putInt(numLayers).putInt(numKvHeads).putInt(headDim).putInt(blockSize);
    enc.putInt(tpRank).putInt(tpWorldSize);
    enc.putInt(ten.length).put(ten);
    encoding = enc.array();
    digest = sha256().digest(encoding);
    id = ByteBuffer.wrap(digest).order(ByteOrder.BIG_ENDIAN).getLong(0);
  }

  /** Returns a builder with the defaults {@code tpRank = 0}, {@code tpWorldSize = 1}, tenant "". */
  public static Builder builder() {
    return new Builder();
  }

  /** Returns a builder preset with this namespace's fields, to derive a namespace from it. */
  public Builder toBuilder() {
    return new Builder()
        .modelId(modelId)
        .dtype(dtype)
        .numLayers(numLayers)
        .numKvHeads(numKvHeads)
        .headDim(headDim)
        .blockSize(blockSize)
        .tpRank(tpRank)
        .tpWorldSize(tpWorldSize)
        .tenant(tenant);
  }

  /** The model id, e.g. {@code meta-llama/Llama-3.1-8B-Instruct}. */
  public String modelId() {
    return modelId;
  }

  /** The KV element type, e.g. {@code bfloat16}. */
  public String dtype() {
    return dtype;
  }

  /** Number of transformer layers whose KV a page holds. */
  public int numLayers() {
    return numLayers;
  }

  /** Number of KV heads held by this rank's pages. */
  public int numKvHeads() {
    return numKvHeads;
  }

  /** Dimension of one attention head. */
  public int headDim() {
    return headDim;
  }

  /** Tokens per block ({@code B}); only full blocks get keys. */
  public int blockSize() {
    return blockSize;
  }

  /** This rank within the tensor-parallel group. */
  public int tpRank() {
    return tpRank;
  }

  /** Size of the tensor-parallel group; 1 without tensor parallelism. */
  public int tpWorldSize() {
    return tpWorldSize;
  }

  /** The tenant; empty for the default tenant. */
  public String tenant() {
    return tenant;
  }

  /** A copy of the canonical encoding (spec 1.3) that {@link #digest()} hashes. */
  public byte[] canonicalEncoding() {
    return encoding.clone();
  }

  /** A copy of the 32-byte SHA-256 digest of the canonical encoding; part of every block key. */
  public byte[] digest() {
    return digest.clone();
  }

  /** The namespace id: the first 8 digest bytes read big-endian; written in page headers. */
  public long id() {
    return id;
  }

  /** The namespace id as 16 lowercase hex digits (the first 16 hex digits of the digest). */
  public String idHex() {
    return String.format("%016x", id);
  }

  /** The digest without a copy, for {@link BlockHasher}; callers must not modify it. */
  byte[] digestUnsafe() {
    return digest;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Namespace && Arrays.equals(encoding, ((Namespace) o).encoding);
  }

  @Override
  public int hashCode() {
    return Long.hashCode(id);
  }

  @Override
  public String toString() {
    return "Namespace{id=" + idHex() + ", modelId=" + modelId + ", dtype=" + dtype
        + ", numLayers=" + numLayers + ", numKvHeads=" + numKvHeads + ", headDim=" + headDim
        + ", blockSize=" + blockSize + ", tp=" + tpRank + "/" + tpWorldSize
        + ", tenant=" + tenant + "}";
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      // Every Java SE platform must provide SHA-256 (MessageDigest Javadoc), so this is a broken JDK.
      throw new IllegalStateException("this JVM has no SHA-256 MessageDigest", e);
    }
  }

  private static void requireRange(String name, int value, int min, int max) {
    if (value < min || value > max) {
      throw new IllegalArgumentException(
          name + " must be in " + min + ".." + max + ", got " + value
              + (value == 0 ? " (not set?)" : ""));
    }
  }

  /**
   * Encodes strictly: {@code String.getBytes} would replace an unpaired surrogate with '?', mapping
   * two different strings to one namespace.
   */
  private static byte[] utf8(String name, String value, int minBytes, int maxBytes) {
    if (value == null) {
      throw new IllegalArgumentException(name + " is required");
    }
    ByteBuffer bytes;
    try {
      bytes =
          StandardCharsets.UTF_8
              .newEncoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .encode(CharBuffer.wrap(value));
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException(
          name + " is not well-formed Unicode (unpaired surrogate?): " + e.getMessage(), e);
    }
    byte[] out = new byte[bytes.remaining()];
    bytes.get(out);
    if (out.length < minBytes || out.length > maxBytes) {
      throw new IllegalArgumentException(
          name + " must be " + minBytes + ".." + maxBytes + " UTF-8 bytes, got " + out.length
              + (out.length == 0 ? " (empty)" : ""));
    }
    return out;
  }

  private static byte[] dtypeBytes(String dtype) {
    if (dtype == null) {
      throw new IllegalArgumentException("dtype is required");
    }
    if (dtype.isEmpty() || dtype.length() > MAX_DTYPE_BYTES) {
      throw new IllegalArgumentException(
          "dtype must be 1.." + MAX_DTYPE_BYTES + " characters, got \"" + dtype + "\"");
    }
    for (int i = 0; i < dtype.length(); i++) {
      char c = dtype.charAt(i);
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
        throw new IllegalArgumentException(
            "dtype must be lower-case [a-z0-9_] (e.g. bfloat16), got \"" + dtype + "\"");
      }
    }
    return dtype.getBytes(StandardCharsets.US_ASCII);
  }

  /**
   * Collects the fields of a {@link Namespace}; {@link #build()} validates them all and says which
   * one is wrong. Not thread-safe; a builder may be reused after {@code build()}.
   */
  public static final class Builder {
    private String modelId;
    private String dtype;
    private int numLayers;
    private int numKvHeads;
    private int headDim;
    private int blockSize;
    private int tpRank;
    private int tpWorldSize = 1;
    private String tenant = "";

    private Builder() {}

    /** Sets the model id (required, 1..1024 UTF-8 bytes). */
    public Builder modelId(String modelId) {
      this.modelId = modelId;
      return this;
    }

    /** Sets the KV element type (required, lower-case {@code [a-z0-9_]}, e.g. bfloat16). */
    public Builder dtype(String dtype) {
      this.dtype = dtype;
      return this;
    }

    /** Sets the number of layers (required, ≥ 1). */
    public Builder numLayers(int numLayers) {
      this.numLayers = numLayers;
      return this;
    }

    /** Sets the number of KV heads this rank's pages hold (required, ≥ 1). */
    public Builder numKvHeads(int numKvHeads) {
      this.numKvHeads = numKvHeads;
      return this;
    }

    /** Sets the head dimension (required, ≥ 1). */
    public Builder headDim(int headDim) {
      this.headDim = headDim;
      return this;
    }

    /** Sets the block size in tokens (required, 1..2^20). */
    public Builder blockSize(int blockSize) {
      this.blockSize = blockSize;
      return this;
    }

    /** Sets the tensor-parallel rank (default 0; must be below the world size). */
    public Builder tpRank(int tpRank) {
      this.tpRank = tpRank;
      return this;
    }

    /** Sets the tensor-parallel world size (default 1). */
    public Builder tpWorldSize(int tpWorldSize) {
      this.tpWorldSize = tpWorldSize;
      return this;
    }

    /** Sets the tenant (default "", at most 1024 UTF-8 bytes). */
    public Builder tenant(String tenant) {
      this.tenant = tenant;
      return this;
    }

    /**
     * Validates the fields and builds the namespace.
     *
     * @throws IllegalArgumentException naming the first field that is missing or out of range
     */
    public Namespace build() {
      return new Namespace(this);
    }
  }
}
