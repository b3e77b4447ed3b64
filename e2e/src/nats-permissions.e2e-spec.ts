import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { Subjects } from '@keelson/contracts';
import { decodeJson, encodeJson } from '@keelson/messaging';
import { waitFor } from '@keelson/testing';
import type { NatsConnection } from 'nats';
import { startMesh, type Mesh } from './support/mesh';
import { tenantNats } from './support/tenant-nats';

/**
 * The whole mesh with the generated NATS users and permissions (the mesh's default): an external publisher
 * of tenant acme queues a task straight onto NATS and follows its result over core NATS, and is refused
 * everything of tenant dev. The mesh's stop() also fails this file if any service was refused something.
 */
describe('NATS permissions through the whole mesh', () => {
  let mesh: Mesh;
  let acme: NatsConnection;
  let refused: string[] = [];

  before(async () => {
    mesh = await startMesh();
    ({ nc: acme, refused } = await tenantNats(mesh, 'acme', 'acme-publisher'));
  });
  after(async () => {
    await acme?.close();
    await mesh?.stop();
  });

  it('runs a task tenant acme published on NATS and delivers the result to acme over core NATS', async () => {
    const results = acme.subscribe(Subjects.tenantResults('acme'));
    await acme.flush();
    const taskId = 'tsk_acme_nats_1';
    const ack = await acme.jetstream().publish(Subjects.task('acme', 'assistant'), encodeJson({ input: 'hello from a NATS publisher', taskId }), {
      msgID: `acme:${taskId}`,
    });
    assert.equal(ack.duplicate, false);
    const message = await waitFor(async () => {
      for await (const m of results) return m;
      return undefined;
    }, { description: `the result of ${taskId} on acme's subscription`, timeoutMs: 30_000 });
    assert.equal(message.subject, Subjects.result('acme', 'assistant', taskId));
    const event = decodeJson(message.data) as { data: { status: string; output: string } };
    assert.equal(event.data.status, 'succeeded');
    assert.match(event.data.output, /hello from a NATS publisher/);
  });

  it('refuses acme another tenant\'s task subject, results and the services\' subjects', async () => {
    await assert.rejects(
      acme.jetstream().publish(Subjects.task('dev', 'assistant'), encodeJson({ input: 'not mine' }), { timeout: 3_000 }),
      /Permissions Violation for Publish to "keelson\.tasks\.dev\.assistant"/,
    );
    acme.subscribe(Subjects.tenantResults('dev'));
    acme.publish(Subjects.logLevel, encodeJson({ level: 'debug' }));
    acme.publish(Subjects.invokeRpc, encodeJson({}));
    await waitFor(() => refused.length >= 4, { description: 'the server to refuse all four', timeoutMs: 5_000 });
    assert.deepEqual(new Set(refused), new Set([
      'publish to keelson.tasks.dev.assistant',
      'subscription to keelson.results.dev.>',
      `publish to ${Subjects.logLevel}`,
      `publish to ${Subjects.invokeRpc}`,
    ]));
  });
});
