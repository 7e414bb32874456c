package io.kvstore.client.cluster;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A cluster address, as the daemon's {@code --cluster} flag and the SDK take it (spec §5.1):
 * <ul>
 *   <li>{@code static://host:port,host:port} — a fixed member list;
 *   <li>{@code etcd://host:port[,host:port]/NAME[?ttl=S&zone=Z&advertise=host:port]} — members
 *       registered in etcd under {@link #memberPrefix()}.
 * </ul>
 *
 * @param scheme {@code static} or {@code etcd}
 * @param endpoints the members (static) or the etcd endpoints, as {@code host:port}
 * @param name the cluster name (etcd; empty for static)
 * @param params query parameters ({@code ttl}, {@code zone}, {@code advertise}, ...)
 */
public record ClusterUri(String scheme, List<String> endpoints, String name, Map<String, String> params) {

  /** The etcd key prefix of every cluster. */
  public static final String KEY_ROOT = "/kvstore/";

  /** Copies the collections. */
  public ClusterUri {
    endpoints = List.copyOf(endpoints);
    params = Map.copyOf(params);
  }

  /**
   * Parses a cluster address.
   *
   * @throws IllegalArgumentException saying what is wrong and what was expected
   */
  public static ClusterUri parse(String uri) {
    String u = uri.strip();
    int sep = u.indexOf("://");
    if (sep <= 0) {
      throw new IllegalArgumentException("cluster '" + uri
          + "' has no scheme; expected static://host:port,... or etcd://host:port,.../NAME");
    }
    String scheme = u.substring(0, sep);
    String rest = u.substring(sep + 3);
    Map<String, String> params = new LinkedHashMap<>();
    int q = rest.indexOf('?');
    if (q >= 0) {
      for (String kv : rest.substring(q + 1).split("&")) {
        if (kv.isEmpty()) {
          continue;
        }
        int eq = kv.indexOf('=');
        if (eq <= 0) {
          throw new IllegalArgumentException("cluster '" + uri + "': parameter '" + kv + "' is not key=value");
        }
        params.put(kv.substring(0, eq), URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8));
      }
      rest = rest.substring(0, q);
    }
    String name = "";
    int slash = rest.indexOf('/');
    if (slash >= 0) {
      name = rest.substring(slash + 1);
      rest = rest.substring(0, slash);
    }
    List<String> endpoints = new ArrayList<>();
    for (String e : rest.split(",")) {
      if (!e.isBlank()) {
        Member.parseAddress(e); // checks host:port
        endpoints.add(e.strip());
      }
    }
    if (endpoints.isEmpty()) {
      throw new IllegalArgumentException("cluster '" + uri + "' names no host:port");
    }
    switch (scheme) {
      case "static":
        if (!name.isEmpty()) {
          throw new IllegalArgumentException("cluster '" + uri + "': a static list takes no /NAME");
        }
        break;
      case "etcd":
        if (name.isEmpty() || !name.matches("[A-Za-z0-9._-]+")) {
          throw new IllegalArgumentException("cluster '" + uri
              + "' needs a cluster name of letters, digits, '.', '_' or '-' after the endpoints: etcd://host:port/NAME");
        }
        break;
      default:
        throw new IllegalArgumentException("cluster scheme '" + scheme + "' is not static or etcd");
    }
    return new ClusterUri(scheme, endpoints, name, params);
  }

  /** Whether this is an etcd cluster. */
  public boolean isEtcd() {
    return scheme.equals("etcd");
  }

  /** The etcd key prefix of this cluster's members: {@code /kvstore/NAME/members/}. */
  public String memberPrefix() {
    return KEY_ROOT + name + "/members/";
  }

  /** A parameter, or {@code fallback} when absent. */
  public String param(String key, String fallback) {
    return params.getOrDefault(key, fallback);
  }
}
