import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { AuditConsumers, AuditSubjects } from './audit';
import { GuardSubjects } from './guard';
import { MemoryConsumers, MemorySubjects } from './memory';
import {
  KEELSON_SERVICES,
  OperatorPermissions,
  ResponderPermissions,
  ServicePermissions,
  serviceInboxPrefix,
  subjectAllowed,
  tenantInboxPrefix,
  tenantPermissions,
  type KeelsonService,
} from './nats-permissions';
import { OpsSubjects } from './ops';
import { Consumers, Streams } from './streams';
import { Subjects } from './subjects';
import { UsageSubjects } from './usage';

const pub = (service: KeelsonService, subject: string) => subjectAllowed(ServicePermissions[service].publish, subject);
const sub = (service: KeelsonService, subject: string) => subjectAllowed(ServicePermissions[service].subscribe, subject);
const answers = (service: KeelsonService, subject: string) => subjectAllowed(ResponderPermissions[service].subscribe, subject);

/** What each service is documented to do (docs/operations.md), as concrete subjects. */
const needs: Record<KeelsonService, { publish: string[]; subscribe: string[]; answers: string[] }> = {
  gateway: {
    publish: [
      Subjects.task('acme', 'assistant'),
      Subjects.sessionTurn('acme', 'ses_1'),
      Subjects.sessionCancel('acme', 'ses_1'),
      Subjects.sessionSteer('acme', 'ses_1'),
      Subjects.sessionRun('acme', 'ses_1', 3),
      Subjects.approval('acme', 'apr_1'),
      Subjects.invokeRpc,
      Subjects.invokeCancel('acme', 'c1'),
      MemorySubjects.searchRpc,
      MemorySubjects.eraseRpc,
      GuardSubjects.policyRpc,
      GuardSubjects.revealRpc,
      AuditSubjects.queryRpc,
      AuditSubjects.verifyRpc,
      OpsSubjects.stats,
      AuditSubjects.event('acme', 'auth'),
      '$JS.API.INFO',
      `$JS.API.STREAM.CREATE.${Streams.tasks.name}`,
      `$JS.API.STREAM.MSG.GET.${Streams.tasks.name}`,
      `$JS.API.STREAM.MSG.GET.${Streams.runs.name}`,
      `$JS.API.CONSUMER.CREATE.${Streams.runs.name}.OC_1.keelson.runs.acme.tasks.tsk_1`,
      `$JS.API.CONSUMER.MSG.NEXT.${Streams.usage.name}.OC_1`,
      `$JS.API.CONSUMER.INFO.${Consumers.taskWorker.stream}.${Consumers.taskWorker.durable}`,
    ],
    subscribe: [Subjects.invokeRun('acme', 'run_1'), `${serviceInboxPrefix('gateway')}.abc.1`, Subjects.logLevel],
    answers: [OpsSubjects.stats],
  },
  'session-agent': {
    publish: [
      Subjects.sessionRun('acme', 'ses_1', 1),
      Subjects.invokeRun('acme', 'run_1'),
      UsageSubjects.record('acme', 'assistant'),
      MemorySubjects.writes('acme'),
      MemorySubjects.recallRpc,
      GuardSubjects.policyRpc,
      AuditSubjects.event('acme', 'run'),
      Subjects.deadLetter(Streams.sessionTurns.name),
      `$JS.API.CONSUMER.CREATE.${Streams.sessionTurns.name}.session-agent.keelson.sessions.turns.>`,
      `$JS.API.CONSUMER.MSG.NEXT.${Streams.sessionTurns.name}.session-agent`,
      `$JS.ACK.${Streams.sessionTurns.name}.session-agent.1.2.3.1700000000.0`,
    ],
    subscribe: [Subjects.allSessionCancels, Subjects.allSessionSteers, `${serviceInboxPrefix('session-agent')}.>`],
    answers: [Subjects.invokeRpc, Subjects.allInvokeCancels, OpsSubjects.stats],
  },
  'task-worker': {
    publish: [
      Subjects.taskRun('acme', 'tsk_1'),
      Subjects.result('acme', 'assistant', 'tsk_1'),
      Subjects.approval('acme', 'apr_1'),
      UsageSubjects.record('acme', 'assistant'),
      MemorySubjects.writes('acme'),
      MemorySubjects.recallRpc,
      AuditSubjects.event('acme', 'task'),
      Subjects.deadLetter(Streams.tasks.name),
      Subjects.deadLetter(Streams.approvals.name),
      `$JS.API.CONSUMER.MSG.NEXT.${Consumers.taskWorker.stream}.${Consumers.taskWorker.durable}`,
      `$JS.ACK.${Consumers.taskApprovals.stream}.${Consumers.taskApprovals.durable}.1.2.3.1700000000.0`,
    ],
    subscribe: [Subjects.logLevel, `${serviceInboxPrefix('task-worker')}.x`],
    answers: [OpsSubjects.stats],
  },
  'memory-service': {
    publish: [
      Subjects.deadLetter(MemoryConsumers.writer.stream),
      `$JS.API.CONSUMER.MSG.NEXT.${MemoryConsumers.writer.stream}.${MemoryConsumers.writer.durable}`,
      AuditSubjects.event('acme', 'admin'),
    ],
    subscribe: [],
    answers: [MemorySubjects.upsertRpc, MemorySubjects.recallRpc, MemorySubjects.namespacesRpc],
  },
  'audit-service': {
    publish: [
      Subjects.deadLetter(AuditConsumers.writer.stream),
      `$JS.API.CONSUMER.MSG.NEXT.${AuditConsumers.writer.stream}.${AuditConsumers.writer.durable}`,
      `$JS.API.STREAM.INFO.${Streams.runs.name}`,
      `$JS.API.CONSUMER.CREATE.${Streams.runs.name}.OC_2.keelson.runs.acme.tasks.tsk_1`,
      GuardSubjects.policyRpc,
    ],
    subscribe: [],
    answers: [AuditSubjects.queryRpc, AuditSubjects.verifyRpc],
  },
  'guard-service': {
    publish: [GuardSubjects.decisions('acme'), AuditSubjects.event('acme', 'guard'), `$JS.API.STREAM.CREATE.${Streams.audit.name}`],
    subscribe: [],
    answers: [GuardSubjects.inputRpc, GuardSubjects.outputRpc, GuardSubjects.policyRpc, GuardSubjects.revealRpc],
  },
};

describe('ServicePermissions', () => {
  for (const service of KEELSON_SERVICES) {
    it(`${service} may publish and subscribe to every subject it is documented to use`, () => {
      for (const s of needs[service].publish) assert.ok(pub(service, s), `${service} should be allowed to publish to ${s}`);
      for (const s of needs[service].subscribe) assert.ok(sub(service, s), `${service} should be allowed to subscribe to ${s}`);
      for (const s of needs[service].answers) assert.ok(answers(service, s), `${service}'s responder should be allowed to subscribe to ${s}`);
    });
  }

  it('only the operator changes log levels; every service follows them, and its responder answers stats requests', () => {
    for (const service of KEELSON_SERVICES) {
      assert.equal(pub(service, Subjects.logLevel), false, `${service} must not publish ${Subjects.logLevel}`);
      assert.ok(sub(service, Subjects.logLevel) && answers(service, OpsSubjects.stats), service);
    }
    assert.ok(subjectAllowed(OperatorPermissions.publish, Subjects.logLevel));
  });

  it('keeps each service to its own subjects', () => {
    // A work-queue consumer's service may publish on its own input subjects only to re-queue stranded
    // messages (stranded-messages.ts), and may read and delete single messages of that stream, no other.
    assert.ok(pub('task-worker', Subjects.task('acme', 'assistant')), 'task-worker re-queues stranded tasks');
    assert.ok(pub('task-worker', `$JS.API.STREAM.MSG.DELETE.${Streams.tasks.name}`));
    assert.equal(pub('task-worker', `$JS.API.STREAM.MSG.DELETE.${Streams.sessionTurns.name}`), false);
    assert.equal(pub('session-agent', Subjects.task('acme', 'assistant')), false, 'session-agent does not queue tasks');
    assert.equal(pub('memory-service', `$JS.API.STREAM.MSG.DELETE.${Streams.tasks.name}`), false);
    assert.equal(pub('task-worker', Subjects.sessionTurn('acme', 's')), false);
    assert.equal(pub('task-worker', Subjects.sessionRun('acme', 's', 1)), false, 'a task-worker writes task run logs only');
    assert.equal(pub('session-agent', Subjects.result('acme', 'a', 't')), false, 'results come from task-workers');
    assert.equal(pub('guard-service', MemorySubjects.eraseRpc), false);
    assert.equal(pub('memory-service', GuardSubjects.revealRpc), false);
    assert.equal(pub('gateway', Subjects.result('acme', 'a', 't')), false, 'the gateway never forges a result');
    assert.equal(pub('gateway', UsageSubjects.record('acme', 'a')), false, 'nor a usage record');
    assert.equal(sub('memory-service', GuardSubjects.inputRpc), false);
    assert.equal(sub('gateway', Subjects.allResults), false);
    // Acks and pulls of another service's consumer.
    assert.equal(pub('memory-service', `$JS.ACK.${Consumers.taskWorker.stream}.${Consumers.taskWorker.durable}.1.1.1.1.0`), false);
    assert.equal(pub('session-agent', `$JS.API.CONSUMER.MSG.NEXT.${Consumers.taskWorker.stream}.${Consumers.taskWorker.durable}`), false);
    // Stream deletion and purge belong to operators.
    for (const service of KEELSON_SERVICES) {
      assert.equal(pub(service, `$JS.API.STREAM.DELETE.${Streams.audit.name}`), false, `${service} must not delete streams`);
      assert.equal(pub(service, `$JS.API.STREAM.PURGE.${Streams.audit.name}`), false, `${service} must not purge streams`);
    }
    assert.equal(pub('guard-service', `$JS.API.STREAM.CREATE.${Streams.tasks.name}`), false, 'guard-service provisions only the audit stream');
  });

  it('gives each service an inbox no other identity may read', () => {
    for (const service of KEELSON_SERVICES) {
      const inbox = `${serviceInboxPrefix(service)}.abc`;
      for (const other of KEELSON_SERVICES.filter((o) => o !== service)) assert.equal(sub(other, inbox), false, `${other} reads ${service}'s inbox`);
      assert.equal(sub(service, '_INBOX.>'), false, `${service} must not read every inbox`);
      assert.equal(pub(service, '_INBOX.abc'), false, `${service} answers through allow_responses, not a blanket inbox right`);
      assert.equal(subjectAllowed(ResponderPermissions[service].subscribe, inbox), false, `${service}'s responder reads no inbox`);
      assert.equal(subjectAllowed(tenantPermissions('dev').subscribe, inbox), false);
    }
  });
});

describe('ResponderPermissions', () => {
  it('gives allow_responses to the responder identities only, and nothing else to publish', () => {
    for (const service of KEELSON_SERVICES) {
      // A service identity takes JetStream deliveries: with allow_responses nats-server would track each one.
      assert.equal(ServicePermissions[service].allowResponses, false, `${service}'s own identity`);
      assert.equal(ResponderPermissions[service].allowResponses, true, `${service}'s responder`);
      assert.deepEqual(ResponderPermissions[service].publish, [], `${service}'s responder publishes only answers`);
      assert.equal(answers(service, Subjects.allTasks), false);
      assert.equal(answers(service, Subjects.logLevel), false, 'log levels are followed on the service connection');
    }
    assert.equal(answers('memory-service', GuardSubjects.inputRpc), false, 'each responder answers its own service\'s requests');
  });
});

describe('tenantPermissions', () => {
  const acme = tenantPermissions('acme');
  it('publishes only its own tasks and reads only its own results and inbox', () => {
    assert.ok(subjectAllowed(acme.publish, Subjects.task('acme', 'assistant')));
    assert.equal(subjectAllowed(acme.publish, Subjects.task('dev', 'assistant')), false, 'another tenant\'s task subject');
    assert.equal(subjectAllowed(acme.publish, Subjects.result('acme', 'assistant', 't')), false, 'a forged result');
    assert.equal(subjectAllowed(acme.publish, Subjects.approval('acme', 'a')), false);
    assert.ok(subjectAllowed(acme.subscribe, Subjects.tenantResults('acme')));
    assert.ok(subjectAllowed(acme.subscribe, `${tenantInboxPrefix('acme')}.xyz`));
    assert.equal(subjectAllowed(acme.subscribe, Subjects.tenantResults('dev')), false);
    assert.equal(subjectAllowed(acme.subscribe, Subjects.allResults), false);
    assert.equal(subjectAllowed(acme.subscribe, `${tenantInboxPrefix('dev')}.xyz`), false);
    assert.equal(acme.allowResponses, false);
  });

  it('has no JetStream API right at all (on 2.9 that would expose other tenants\' messages)', () => {
    for (const s of ['$JS.API.INFO', `$JS.API.CONSUMER.CREATE.${Streams.results.name}`, `$JS.API.STREAM.MSG.GET.${Streams.results.name}`]) {
      assert.equal(subjectAllowed(acme.publish, s), false, s);
    }
  });

  it('inbox prefixes of tenants and services never overlap, whatever the tenant is called', () => {
    assert.notEqual(tenantInboxPrefix('gateway'), serviceInboxPrefix('gateway'));
    assert.equal(subjectAllowed(tenantPermissions('svc').subscribe, `${serviceInboxPrefix('gateway')}.x`), false);
  });
});

describe('subjectAllowed', () => {
  it('follows NATS wildcard matching', () => {
    assert.ok(subjectAllowed(['a.*.c'], 'a.b.c'));
    assert.equal(subjectAllowed(['a.*.c'], 'a.b.c.d'), false);
    assert.ok(subjectAllowed(['a.>'], 'a.b.c'));
    assert.equal(subjectAllowed(['a.>'], 'a'), false);
    assert.ok(subjectAllowed(['a.>'], 'a.*'), 'a wildcard subscription inside the pattern');
    assert.equal(subjectAllowed(['a.b'], 'a.*'), false, 'a wildcard subscription wider than the pattern');
    assert.equal(subjectAllowed(['a.*'], 'a.>'), false);
  });
});
