import { OpsReplicaStatsSchema, OpsSubjects, type OpsReplicaStats } from '@keelson/contracts';
import { decodeJson } from '@keelson/messaging';
import { RequestStrategy, type NatsConnection } from 'nats';

/** How long the gateway waits for replicas to answer a stats request. */
export const REPLICA_STATS_WAIT_MS = 300;

/** Asks every replica of every service for its OpsReplicaStats; those that answer within the wait are counted. */
export async function gatherReplicaStats(nats: NatsConnection, waitMs = REPLICA_STATS_WAIT_MS): Promise<OpsReplicaStats[]> {
  const out: OpsReplicaStats[] = [];
  try {
    const replies = await nats.requestMany(OpsSubjects.stats, undefined, { strategy: RequestStrategy.Timer, maxWait: waitMs });
    for await (const reply of replies) {
      try {
        const parsed = OpsReplicaStatsSchema.safeParse(decodeJson(reply.data));
        if (parsed.success) out.push(parsed.data);
      } catch {
        // a reply that is not JSON is not a replica's stats
      }
    }
  } catch {
    // No responders (nothing subscribed yet) reads as no replicas.
  }
  return out.sort((a, b) => a.service.localeCompare(b.service) || a.instance.localeCompare(b.instance));
}
