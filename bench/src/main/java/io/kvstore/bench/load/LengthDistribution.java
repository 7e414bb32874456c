package io.kvstore.bench.load;

import java.util.SplittableRandom;

/**
 * A distribution of prompt lengths in tokens, parsed from the command line:
 *
 * <ul>
 *   <li>{@code fixed:N} - always N;
 *   <li>{@code uniform:MIN-MAX} - uniform over {@code [MIN, MAX]};
 *   <li>{@code lognormal:MEDIAN,SIGMA} - {@code MEDIAN * exp(SIGMA * Z)}, Z standard normal: the
 *       heavy right tail of real prompt lengths (a few very long documents).
 * </ul>
 *
 * Every sample is clamped to {@code [1, MAX_TOKENS]}.
 */
public final class LengthDistribution {

  /** Longest prompt generated: 1M tokens. */
  public static final int MAX_TOKENS = 1 << 20;

  private final String spec;
  private final int kind;
  private final double a;
  private final double b;

  private LengthDistribution(String spec, int kind, double a, double b) {
    this.spec = spec;
    this.kind = kind;
    this.a = a;
    this.b = b;
  }

  /**
   * Parses a distribution.
   *
   * @throws IllegalArgumentException naming the expected forms if {@code spec} is not one
   */
  public static LengthDistribution parse(String spec) {
    String usage = "prompt length distribution must be fixed:N, uniform:MIN-MAX or"
        + " lognormal:MEDIAN,SIGMA (tokens), got '" + spec + "'";
    int colon = spec == null ? -1 : spec.indexOf(':');
    if (colon < 0) {
      throw new IllegalArgumentException(usage);
    }
    String args = spec.substring(colon + 1);
    try {
      switch (spec.substring(0, colon)) {
        case "fixed": {
          int n = Integer.parseInt(args);
          check(n >= 1 && n <= MAX_TOKENS, "fixed length must be in [1, " + MAX_TOKENS + "]: " + n);
          return new LengthDistribution(spec, 0, n, n);
        }
        case "uniform": {
          String[] p = args.split("-", -1);
          check(p.length == 2, usage);
          int lo = Integer.parseInt(p[0]);
          int hi = Integer.parseInt(p[1]);
          check(lo >= 1 && hi >= lo && hi <= MAX_TOKENS,
              "uniform needs 1 <= MIN <= MAX <= " + MAX_TOKENS + ": " + args);
          return new LengthDistribution(spec, 1, lo, hi);
        }
        case "lognormal": {
          String[] p = args.split(",", -1);
          check(p.length == 2, usage);
          double median = Double.parseDouble(p[0]);
          double sigma = Double.parseDouble(p[1]);
          check(median >= 1 && median <= MAX_TOKENS && sigma >= 0 && sigma <= 5,
              "lognormal needs MEDIAN in [1, " + MAX_TOKENS + "] and SIGMA in [0, 5]: " + args);
          return new LengthDistribution(spec, 2, median, sigma);
        }
        default:
          throw new IllegalArgumentException(usage);
      }
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(usage, e);
    }
  }

  private static void check(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }

  /** A prompt length. */
  public int sample(SplittableRandom random) {
    double v = switch (kind) {
      case 0 -> a;
      case 1 -> a + random.nextInt((int) (b - a) + 1);
      default -> a * Math.exp(b * gaussian(random));
    };
    return (int) Math.max(1, Math.min(MAX_TOKENS, Math.round(v)));
  }

  /** A standard normal sample (Box-Muller; SplittableRandom has no nextGaussian on Java 17). */
  private static double gaussian(SplittableRandom r) {
    double u = 1.0 - r.nextDouble(); // (0, 1]: log(0) never taken
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r.nextDouble());
  }

  @Override
  public String toString() {
    return spec;
  }
}
