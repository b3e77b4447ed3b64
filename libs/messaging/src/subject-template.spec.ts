import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { Subjects } from '@keelson/contracts';
import { subjectMatches, subjectTemplate } from './subject-template';

describe('subject templates for span names', () => {
  it('matches NATS wildcards', () => {
    assert.equal(subjectMatches('a.*.c', 'a.b.c'), true);
    assert.equal(subjectMatches('a.*.c', 'a.b.c.d'), false);
    assert.equal(subjectMatches('a.>', 'a.b.c'), true);
    assert.equal(subjectMatches('a.>', 'a'), false);
    assert.equal(subjectMatches('a.b', 'a.b'), true);
    assert.equal(subjectMatches('a.b', 'a.c'), false);
  });

  it('names a contract subject by the stream pattern that captures it, hiding tenant and ids', () => {
    assert.equal(subjectTemplate(Subjects.task('acme', 'summarise')), Subjects.allTasks);
    assert.equal(subjectTemplate(Subjects.result('acme', 'a', 'tsk_1')), Subjects.allResults);
    assert.equal(subjectTemplate(Subjects.deadLetter('KEELSON_TASKS')), Subjects.allDeadLetters);
  });

  it('keeps a subject outside the contract streams as it is', () => {
    assert.equal(subjectTemplate(Subjects.invokeRpc), Subjects.invokeRpc);
  });
});
