import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { admissionSettingsSchema } from './admission-settings';

describe('admissionSettings', () => {
  it('makes only the task lane adaptive by default: invoke and session latency is mostly a model', () => {
    const settings = admissionSettingsSchema.parse({});
    assert.equal(settings.ADMISSION_ADAPTIVE, true);
    assert.deepEqual(settings.ADMISSION_ADAPTIVE_LANES, ['task']);
  });

  it('reads ADMISSION_ADAPTIVE_LANES as a comma-separated list, `none` as no lane, and refuses unknown lanes', () => {
    assert.deepEqual(admissionSettingsSchema.parse({ ADMISSION_ADAPTIVE_LANES: ' task, other ,task' }).ADMISSION_ADAPTIVE_LANES, ['task', 'other']);
    assert.deepEqual(admissionSettingsSchema.parse({ ADMISSION_ADAPTIVE_LANES: 'none' }).ADMISSION_ADAPTIVE_LANES, []);
    assert.deepEqual(admissionSettingsSchema.parse({ ADMISSION_ADAPTIVE_LANES: '' }).ADMISSION_ADAPTIVE_LANES, []);
    assert.equal(admissionSettingsSchema.safeParse({ ADMISSION_ADAPTIVE_LANES: 'invoke,chat' }).success, false);
  });
});
