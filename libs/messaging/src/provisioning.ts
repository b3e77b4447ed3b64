import { Streams, type ConsumerSpec, type StreamSpec } from '@keelson/contracts';
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  nanos,
  ReplayPolicy,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type JetStreamManager,
  type NatsConnection,
  type StreamConfig,
} from 'nats';
import { jsApiErrorCode, ProvisioningError } from './errors';

export const STREAM_NOT_FOUND = 10059;
export const CONSUMER_NOT_FOUND = 10014;

/**
 * The consumer's server-side max_deliver is the spec's maxDeliver plus this headroom. The runner itself
 * dead-letters on the spec's last delivery; the extra deliveries exist for the cases the runner never saw
 * end: the last attempt died with its process (ack wait expired), or its dead-letter publish failed. Then the
 * next delivery arrives with deliveryCount > maxDeliver and the runner dead-letters it without running the
 * handler. Without the headroom JetStream would silently stop delivering such a message.
 */
export const MAX_DELIVER_HEADROOM = 2;

export function allStreams(): StreamSpec[] {
  return Object.values(Streams);
}

/** The JetStream config for a StreamSpec: file storage, discard old, times in nanoseconds. */
export function streamConfigFor(spec: StreamSpec, replicas?: number): Partial<StreamConfig> & { name: string } {
  return {
    name: spec.name,
    subjects: [...spec.subjects],
    retention: spec.retention === 'workqueue' ? RetentionPolicy.Workqueue : RetentionPolicy.Limits,
    max_age: nanos(spec.maxAgeMs),
    duplicate_window: nanos(spec.duplicateWindowMs),
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    description: spec.description,
    ...(replicas !== undefined ? { num_replicas: replicas } : {}),
  };
}

/** The JetStream config for a ConsumerSpec: durable pull, explicit ack, bounded deliveries and ack pending. */
export function consumerConfigFor(spec: ConsumerSpec): Partial<ConsumerConfig> & { durable_name: string } {
  return {
    durable_name: spec.durable,
    description: spec.description,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(spec.ackWaitMs),
    max_deliver: spec.maxDeliver + MAX_DELIVER_HEADROOM,
    max_ack_pending: spec.maxAckPending,
    filter_subject: spec.filterSubject,
    deliver_policy: DeliverPolicy.All,
    replay_policy: ReplayPolicy.Instant,
  };
}

/**
 * Creates each stream that is missing and updates each whose config differs from its spec. Without
 * `overrides.replicas`, new streams get 1 replica and existing ones keep theirs (a deployment may have
 * raised it). With it, new streams get that many and existing ones are scaled to it in place (JetStream
 * 2.9 accepts num_replicas on update: it adds or removes peers and catches them up). More than one replica
 * against a server that is not clustered is refused before anything is sent. A change JetStream cannot
 * apply in place (retention, storage) fails with the field named.
 */
export async function provisionStreams(
  nc: NatsConnection,
  specs: StreamSpec[],
  overrides: { replicas?: number } = {},
): Promise<void> {
  const replicas = overrides.replicas;
  if (replicas !== undefined && (!Number.isInteger(replicas) || replicas < 1 || replicas > 5)) {
    throw new ProvisioningError(`replicas must be a whole number from 1 to 5, got ${replicas}`);
  }
  // A server outside a cluster answers "replicas > 1 not supported in non-clustered mode" per stream; say it once, plainly.
  if (replicas !== undefined && replicas > 1 && !nc.info?.cluster) {
    throw new ProvisioningError(
      `${replicas} stream replicas asked for, but the NATS server at ${nc.getServer()} is a single node, not part of a cluster: ` +
        'JetStream keeps more than one replica only in a cluster of at least that many JetStream servers',
    );
  }
  const jsm = await nc.jetstreamManager();
  for (const spec of specs) await withOneRetry(() => provisionStream(jsm, spec, replicas));
}

async function provisionStream(jsm: JetStreamManager, spec: StreamSpec, replicas?: number): Promise<void> {
  const desired = streamConfigFor(spec, replicas);
  let current: StreamConfig;
  try {
    current = (await jsm.streams.info(spec.name)).config;
  } catch (err) {
    if (jsApiErrorCode(err) !== STREAM_NOT_FOUND) throw new ProvisioningError(`stream ${spec.name}: ${(err as Error).message}`, err);
    try {
      await jsm.streams.add({ ...desired, num_replicas: replicas ?? 1 });
      return;
    } catch (addErr) {
      throw new ProvisioningError(`stream ${spec.name}: cannot create it: ${(addErr as Error).message}`, addErr);
    }
  }
  const changed = differingFields(desired, current);
  if (changed.length === 0) return;
  try {
    await jsm.streams.update(spec.name, desired);
  } catch (err) {
    throw new ProvisioningError(
      `stream ${spec.name}: cannot change ${changed.join(', ')} in place: ${(err as Error).message}`,
      err,
    );
  }
}

/** Creates the durable pull consumer of `spec`, or updates it when its config differs. */
export async function provisionConsumer(nc: NatsConnection, spec: ConsumerSpec): Promise<void> {
  const jsm = await nc.jetstreamManager();
  await withOneRetry(() => provisionConsumerWith(jsm, spec));
}

async function provisionConsumerWith(jsm: JetStreamManager, spec: ConsumerSpec): Promise<void> {
  const desired = consumerConfigFor(spec);
  const where = `consumer ${spec.durable} on stream ${spec.stream}`;
  let current: ConsumerConfig;
  try {
    current = (await jsm.consumers.info(spec.stream, spec.durable)).config;
  } catch (err) {
    const code = jsApiErrorCode(err);
    if (code === STREAM_NOT_FOUND) throw new ProvisioningError(`${where}: the stream does not exist; provision it first`, err);
    if (code !== CONSUMER_NOT_FOUND) throw new ProvisioningError(`${where}: ${(err as Error).message}`, err);
    try {
      await jsm.consumers.add(spec.stream, desired);
      return;
    } catch (addErr) {
      throw new ProvisioningError(`${where}: cannot create it: ${(addErr as Error).message}`, addErr);
    }
  }
  if (current.deliver_subject) {
    throw new ProvisioningError(`${where}: exists as a push consumer (deliver_subject ${current.deliver_subject}); delete it first`);
  }
  const changed = differingFields(desired, current);
  if (changed.length === 0) return;
  try {
    await jsm.consumers.update(spec.stream, spec.durable, desired);
  } catch (err) {
    throw new ProvisioningError(`${where}: cannot change ${changed.join(', ')} in place: ${(err as Error).message}`, err);
  }
}

/** The keys of `desired` whose value differs from `current` (arrays compared as sets). */
export function differingFields(desired: object, current: object): string[] {
  const cur = current as Record<string, unknown>;
  return Object.entries(desired)
    .filter(([key, value]) => !sameValue(value, cur[key]))
    .map(([key]) => key);
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && [...a].sort().join('\u0000') === [...b].sort().join('\u0000');
  }
  if ((a === '' || a === undefined) && (b === '' || b === undefined)) return true;
  return a === b;
}

/** Two replicas provisioning at once may race (both see "missing", one add fails); the second look settles it. */
async function withOneRetry(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch {
    await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
    await fn();
  }
}
