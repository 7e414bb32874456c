package io.kvstore.client;

/**
 * The limits a daemon announced in HELLO_OK ({@code spec/3-wire-protocol.md} §3.3); the SDK checks
 * requests against them before sending.
 *
 * @param version the protocol version in use on the connection
 * @param maxFrameLength longest frame the daemon accepts
 * @param maxBatch most keys or pages in one request
 * @param maxPageLength longest page the daemon stores
 * @param maxInFlightBytes bytes of unanswered requests per connection before the daemon stops reading
 * @param connectionId the daemon's id for the connection (appears in its logs)
 */
public record ServerLimits(
    int version,
    long maxFrameLength,
    long maxBatch,
    long maxPageLength,
    long maxInFlightBytes,
    long connectionId) {}
