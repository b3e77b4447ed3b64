import { CustomTransportStrategy, Server } from '@nestjs/microservices';
import type { ConsumerSpec } from '@keelson/contracts';
import { ConsumerRunner, connectNats, provisionConsumer, type InboundMessage, type MessagingLogger, type NatsCredentials } from '@keelson/messaging';
import type { NatsConnection } from 'nats';
import { lastValueFrom } from 'rxjs';
import { consumerRunnerMetrics, pollConsumerInfo } from './consumer-metrics';
import { JetStreamContext } from './jetstream.context';

/**
 * The pattern of an optional second handler per consumer, called for a message whose last attempt died
 * with its process (delivered past maxDeliver), just before it is dead-lettered.
 */
export const exhaustedPattern = (durable: string): string => `${durable}.exhausted`;

export interface JetStreamServerOptions {
  natsUrl: string;
  /** The same NATS identity as the service's InfraModule connection; absent: no NATS auth. */
  natsCredentials?: NatsCredentials | undefined;
  serviceName: string;
  /** One durable pull consumer per spec; a handler is bound with `@EventPattern(spec.durable)`. */
  consumers: ConsumerSpec[];
  concurrency?: number;
  logger: MessagingLogger;
}

/**
 * A NestJS transport over JetStream pull consumers. Nest calls listen() after the application has
 * initialised, so consuming starts only once every provider is ready; close() stops pulling and waits
 * for in-flight handlers, which is what makes a rolling deploy lose nothing.
 * The ack/nak/term/dead-letter policy lives in the framework-free ConsumerRunner; this class only
 * routes messages to Nest handlers.
 */
export class JetStreamServer extends Server implements CustomTransportStrategy {
  private connection?: NatsConnection;
  private readonly runners: ConsumerRunner[] = [];
  private stopPolling: (() => void) | undefined;

  constructor(private readonly options: JetStreamServerOptions) {
    super();
  }

  async listen(callback: (err?: unknown) => void): Promise<void> {
    try {
      this.connection = await connectNats({
        url: this.options.natsUrl,
        name: `${this.options.serviceName}-consumer`,
        logger: this.options.logger,
        ...(this.options.natsCredentials ? { credentials: this.options.natsCredentials } : {}),
      });
      for (const spec of this.options.consumers) {
        const handler = this.getHandlerByPattern(spec.durable);
        if (!handler) throw new Error(`no @EventPattern('${spec.durable}') handler for consumer ${spec.durable}`);
        await provisionConsumer(this.connection, spec);
        const exhausted = this.getHandlerByPattern(exhaustedPattern(spec.durable));
        const invoke = (h: NonNullable<typeof handler>) => async (message: InboundMessage) => {
          const result = await h(message.data, new JetStreamContext(message));
          await lastValueFrom(this.transformToObservable(result), { defaultValue: undefined });
        };
        const runner = new ConsumerRunner(this.connection, spec, invoke(handler), {
          concurrency: this.options.concurrency ?? 16,
          logger: this.options.logger,
          metrics: consumerRunnerMetrics(spec),
          ...(exhausted ? { onExhausted: invoke(exhausted) } : {}),
        });
        await runner.start();
        this.runners.push(runner);
      }
      this.stopPolling = pollConsumerInfo(this.connection, this.options.consumers, this.options.logger);
      callback();
    } catch (err) {
      callback(err);
    }
  }

  async close(): Promise<void> {
    this.stopPolling?.();
    await Promise.all(this.runners.map((runner) => runner.stop()));
    this.runners.length = 0;
    if (this.connection && !this.connection.isClosed()) await this.connection.drain();
  }

  on(): never {
    throw new Error('JetStreamServer does not emit transport events; watch the logs and /readyz instead');
  }

  unwrap<T>(): T {
    if (!this.connection) throw new Error('JetStreamServer is not listening yet');
    return this.connection as T;
  }
}
