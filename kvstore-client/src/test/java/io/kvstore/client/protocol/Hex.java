package io.kvstore.client.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;

/** Hex fixtures: whitespace and {@code |} separators are ignored so fixtures can follow layouts. */
final class Hex {

  private Hex() {}

  static ByteBuf buf(String hex) {
    return Unpooled.wrappedBuffer(ByteBufUtil.decodeHexDump(clean(hex)));
  }

  static byte[] bytes(String hex) {
    return ByteBufUtil.decodeHexDump(clean(hex));
  }

  static String clean(String hex) {
    return hex.replaceAll("[\\s|]", "").toLowerCase();
  }

  /** The readable bytes of {@code buf} as lowercase hex, without moving its indexes. */
  static String of(ByteBuf buf) {
    return ByteBufUtil.hexDump(buf);
  }
}
