import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { selectedInstrumentations } from './instrumentations';

const names = (env: NodeJS.ProcessEnv, warn?: (msg: string) => void) =>
  selectedInstrumentations(env, warn).map((i) => i.instrumentationName.replace('@opentelemetry/instrumentation-', ''));

describe('selectedInstrumentations', () => {
  it('registers the instrumentations of the libraries the services use, and no others', () => {
    const all = selectedInstrumentations({});
    try {
      assert.deepEqual(
        all.map((i) => i.instrumentationName.replace('@opentelemetry/instrumentation-', '')).sort(),
        ['graphql', 'http', 'mongodb', 'mongoose', 'redis', 'undici'],
      );
    } finally {
      for (const i of all) i.disable();
    }
  });

  it('narrows the set by OTEL_NODE_ENABLED_INSTRUMENTATIONS and OTEL_NODE_DISABLED_INSTRUMENTATIONS, and names an unknown entry', () => {
    const warnings: string[] = [];
    const picked = names({ OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http, redis,express', OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'redis' }, (m) => warnings.push(m));
    assert.deepEqual(picked, ['http']);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /"express" is not one Keelson registers/);
  });
});
