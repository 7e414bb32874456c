package io.kvstore.bench.trace;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;

/**
 * JSON-lines request traces with the fields {@code timestamp}, {@code input_length}, {@code
 * output_length} and {@code hash_ids} (Mooncake, Qwen-Bailian). One JSON object per line; blank
 * lines are skipped; other fields are ignored. Parsed with Jackson's streaming parser straight into
 * a {@link TraceBuilder}, so no tree or object per request is kept.
 *
 * <p>Checks, each reported with file and line: valid JSON object, each required field present once
 * with the right type, {@code timestamp} finite and {@code >= 0}, lengths {@code >= 0}, hash ids
 * integers of at most 64 bits, and (where the format promises it) {@code len(hash_ids) ==
 * ceil(input_length / blockTokens)}.
 */
final class JsonLinesTraceFormat implements TraceFormat {

  private static final BigInteger UNSIGNED_64_MAX = BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE);
  private static final JsonFactory JSON = new JsonFactory();

  private final String name;
  private final int blockTokens;
  private final long microsPerTimeUnit;
  private final boolean blockCountMatchesInput;

  /**
   * @param microsPerTimeUnit microseconds per unit of the {@code timestamp} field
   * @param blockCountMatchesInput whether to check {@code len(hash_ids) == ceil(input_length /
   *     blockTokens)}
   */
  JsonLinesTraceFormat(
      String name, int blockTokens, long microsPerTimeUnit, boolean blockCountMatchesInput) {
    this.name = name;
    this.blockTokens = blockTokens;
    this.microsPerTimeUnit = microsPerTimeUnit;
    this.blockCountMatchesInput = blockCountMatchesInput;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public int blockTokens() {
    return blockTokens;
  }

  @Override
  public Trace read(Path file) throws IOException {
    TraceBuilder builder = new TraceBuilder();
    long[] ids = new long[256];
    try (InputStream raw = Files.newInputStream(file);
        InputStream in = file.toString().endsWith(".gz") ? new GZIPInputStream(raw, 1 << 16) : raw;
        BufferedReader reader =
            new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8), 1 << 16)) {
      long lineNo = 0;
      for (String line = reader.readLine(); line != null; line = reader.readLine()) {
        lineNo++;
        if (!line.isBlank()) {
          ids = parseLine(file, lineNo, line, builder, ids);
        }
      }
    }
    return builder.build(file.getFileName().toString(), name, blockTokens);
  }

  /**
   * Parses one line into {@code builder}; {@code ids} is a scratch buffer for the line's hash ids
   * (the request is added only once the whole line is valid), returned grown if it had to grow.
   */
  private long[] parseLine(Path file, long lineNo, String line, TraceBuilder builder, long[] ids)
      throws TraceFormatException {
    long timestamp = -1;
    int input = -1;
    int output = -1;
    boolean sawHashIds = false;
    try (JsonParser p = JSON.createParser(line)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new TraceFormatException(file, lineNo, "expected a JSON object");
      }
      long[] pending = ids;
      int pendingCount = 0;
      for (JsonToken t = p.nextToken(); t != JsonToken.END_OBJECT; t = p.nextToken()) {
        if (t != JsonToken.FIELD_NAME) {
          throw new TraceFormatException(file, lineNo, "truncated JSON object");
        }
        String field = p.currentName();
        JsonToken value = p.nextToken();
        switch (field) {
          case "timestamp":
            checkOnce(file, lineNo, field, timestamp != -1);
            timestamp = timestamp(file, lineNo, p, value);
            break;
          case "input_length":
            checkOnce(file, lineNo, field, input != -1);
            input = length(file, lineNo, p, value, field);
            break;
          case "output_length":
            checkOnce(file, lineNo, field, output != -1);
            output = length(file, lineNo, p, value, field);
            break;
          case "hash_ids":
            checkOnce(file, lineNo, field, sawHashIds);
            sawHashIds = true;
            if (value != JsonToken.START_ARRAY) {
              throw new TraceFormatException(file, lineNo, "hash_ids must be an array, got " + value);
            }
            for (JsonToken e = p.nextToken(); e != JsonToken.END_ARRAY; e = p.nextToken()) {
              if (pendingCount == pending.length) {
                pending = Arrays.copyOf(pending, pendingCount * 2);
              }
              pending[pendingCount] = hashId(file, lineNo, p, e, pendingCount);
              pendingCount++;
            }
            break;
          default:
            p.skipChildren();
            break;
        }
      }
      if (p.nextToken() != null) {
        throw new TraceFormatException(file, lineNo, "unexpected content after the JSON object");
      }
      requireField(file, lineNo, "timestamp", timestamp != -1);
      requireField(file, lineNo, "input_length", input != -1);
      requireField(file, lineNo, "output_length", output != -1);
      requireField(file, lineNo, "hash_ids", sawHashIds);
      if (blockCountMatchesInput) {
        long expected = ((long) input + blockTokens - 1) / blockTokens;
        if (pendingCount != expected) {
          throw new TraceFormatException(
              file,
              lineNo,
              String.format(
                  "hash_ids has %d blocks but input_length %d needs ceil(%d / %d) = %d",
                  pendingCount, input, input, blockTokens, expected));
        }
      }
      builder.beginRequest(timestamp, input, output);
      for (int i = 0; i < pendingCount; i++) {
        builder.addBlock(pending[i]);
      }
      return pending;
    } catch (JsonProcessingException e) {
      throw new TraceFormatException(file, lineNo, "not valid JSON: " + e.getOriginalMessage(), e);
    } catch (TraceFormatException e) {
      throw e;
    } catch (IOException e) {
      // Parsing an in-memory string: only malformed input gets here.
      throw new TraceFormatException(file, lineNo, "cannot parse: " + e.getMessage(), e);
    }
  }

  private long timestamp(Path file, long lineNo, JsonParser p, JsonToken value) throws IOException {
    double v;
    if (value == JsonToken.VALUE_NUMBER_INT) {
      v = p.getValueAsDouble();
    } else if (value == JsonToken.VALUE_NUMBER_FLOAT) {
      v = p.getDoubleValue();
    } else {
      throw new TraceFormatException(file, lineNo, "timestamp must be a number, got " + describe(p, value));
    }
    double micros = v * microsPerTimeUnit;
    if (!(micros >= 0) || micros >= Long.MAX_VALUE) {
      throw new TraceFormatException(file, lineNo, "timestamp must be finite and >= 0, got " + p.getText());
    }
    return Math.round(micros);
  }

  private static int length(Path file, long lineNo, JsonParser p, JsonToken value, String field)
      throws IOException {
    if (value != JsonToken.VALUE_NUMBER_INT || p.getNumberType() != JsonParser.NumberType.INT) {
      throw new TraceFormatException(
          file, lineNo, field + " must be an integer token count, got " + describe(p, value));
    }
    int v = p.getIntValue();
    if (v < 0) {
      throw new TraceFormatException(file, lineNo, field + " must be >= 0, got " + v);
    }
    return v;
  }

  private static long hashId(Path file, long lineNo, JsonParser p, JsonToken value, int index)
      throws IOException {
    if (value != JsonToken.VALUE_NUMBER_INT) {
      throw new TraceFormatException(
          file, lineNo, "hash_ids[" + index + "] must be an integer, got " + describe(p, value));
    }
    JsonParser.NumberType type = p.getNumberType();
    if (type == JsonParser.NumberType.BIG_INTEGER) {
      // 64-bit hashes written unsigned (e.g. SipHash) exceed Long.MAX_VALUE; keep their 64 bits.
      BigInteger big = p.getBigIntegerValue();
      if (big.signum() < 0 || big.compareTo(UNSIGNED_64_MAX) > 0) {
        throw new TraceFormatException(
            file, lineNo, "hash_ids[" + index + "] does not fit in 64 bits: " + big);
      }
      return big.longValue();
    }
    return p.getLongValue();
  }

  private static String describe(JsonParser p, JsonToken value) throws IOException {
    if (value == JsonToken.START_ARRAY) {
      return "an array";
    }
    if (value == JsonToken.START_OBJECT) {
      return "an object";
    }
    return "'" + p.getText() + "'";
  }

  private static void checkOnce(Path file, long lineNo, String field, boolean seen)
      throws TraceFormatException {
    if (seen) {
      throw new TraceFormatException(file, lineNo, "field " + field + " appears twice");
    }
  }

  private static void requireField(Path file, long lineNo, String field, boolean present)
      throws TraceFormatException {
    if (!present) {
      throw new TraceFormatException(file, lineNo, "missing field " + field);
    }
  }
}
