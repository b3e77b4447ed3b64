import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { OpsReplicaStatsSchema, OpsSubjects } from '@keelson/contracts';
import { decodeJson, silentLogger } from '@keelson/messaging';
import { MetricsRegistry } from '@keelson/observability';
import { startNats, type NatsServerHandle } from '@keelson/testing';
import { connect, type NatsConnection } from 'nats';
import { answerOpsStats } from './ops-stats';

describe('answerOpsStats', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;

  before(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
  });
  after(async () => {
    await nc?.close();
    await nats?.stop();
  });

  it("answers with this process's identity, memory and the gauges it set, and leaves out the ones it never set", async () => {
    const registry = new MetricsRegistry({ processMetrics: false });
    registry.gauge('turnsRunning').set({}, 2);
    answerOpsStats(nc, 'session-agent', silentLogger, registry);
    await nc.flush();
    const stats = OpsReplicaStatsSchema.parse(decodeJson((await nc.request(OpsSubjects.stats, undefined, { timeout: 2_000 })).data));
    assert.equal(stats.service, 'session-agent');
    assert.match(stats.instance, /:\d+$/);
    assert.ok(stats.rssBytes > 0);
    assert.equal(stats.turnsRunning, 2);
    assert.equal('taskRunsRunning' in stats, false);
  });
});
