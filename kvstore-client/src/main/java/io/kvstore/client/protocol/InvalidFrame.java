package io.kvstore.client.protocol;

/**
 * What {@link FrameDecoder} emits instead of a frame it cannot accept, so that the handler answers
 * with an ERROR (and closes the connection when the framing is lost) instead of the pipeline
 * seeing an exception. Made only on the error path.
 *
 * @param requestId the request id from the bad frame's header, or 0 when unknown
 * @param opcode the opcode from the header, or -1 when unknown
 * @param errorCode the {@link ErrorCode} to answer with
 * @param message what was wrong, for the peer and the logs
 * @param closeConnection whether the stream can no longer be trusted to be at a frame boundary
 */
public record InvalidFrame(
    long requestId, int opcode, int errorCode, String message, boolean closeConnection) {

  @Override
  public String toString() {
    return ErrorCode.name(errorCode)
        + " (request " + requestId + ", opcode " + Opcode.name(opcode) + "): " + message
        + (closeConnection ? " [closes connection]" : "");
  }
}
