package io.kvstore.client;

import io.kvstore.client.protocol.BatchDoneFlyweight;
import io.kvstore.client.protocol.ErrorFlyweight;
import io.kvstore.client.protocol.GetPageFlyweight;
import io.kvstore.client.protocol.HelloOkFlyweight;
import io.kvstore.client.protocol.LookupOkFlyweight;
import io.kvstore.client.protocol.PingFlyweight;
import io.kvstore.client.protocol.PrefetchOkFlyweight;
import io.kvstore.client.protocol.PutOkFlyweight;
import io.kvstore.client.protocol.StatsFlyweight;

/**
 * One flyweight per response layout, owned by one connection's handler and re-wrapped for every
 * frame, so reading responses allocates nothing per frame. Event-loop confined.
 */
final class ResponseFlyweights {
  final HelloOkFlyweight helloOk = new HelloOkFlyweight();
  final PingFlyweight pong = new PingFlyweight();
  final LookupOkFlyweight lookupOk = new LookupOkFlyweight();
  final GetPageFlyweight getPage = new GetPageFlyweight();
  final BatchDoneFlyweight batchDone = new BatchDoneFlyweight();
  final PutOkFlyweight putOk = new PutOkFlyweight();
  final PrefetchOkFlyweight prefetchOk = new PrefetchOkFlyweight();
  final StatsFlyweight statsOk = new StatsFlyweight();
  final ErrorFlyweight error = new ErrorFlyweight();
}
