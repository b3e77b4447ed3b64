import { BaseRpcContext } from '@nestjs/microservices';
import type { InboundMessage } from '@keelson/messaging';

/** What a handler can reach besides the payload: the JetStream message, its delivery count, working(). */
export class JetStreamContext extends BaseRpcContext<[InboundMessage]> {
  constructor(message: InboundMessage) {
    super([message]);
  }

  get message(): InboundMessage {
    return this.args[0];
  }
}
