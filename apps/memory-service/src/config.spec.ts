import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { loadMemoryServiceConfig, memoryDataDir } from './config';

describe('memory-service configuration', () => {
  it('defaults to LanceDB under <KEELSON_DATA_DIR or .keelson>/memory with the offline embedder on port 8083', () => {
    const config = loadMemoryServiceConfig({});
    assert.equal(config.MEMORY_STORE, 'lancedb');
    assert.equal(config.EMBEDDINGS_PROVIDER, 'offline');
    assert.equal(config.HEALTH_PORT, 8083);
    assert.deepEqual(config.MEMORY_KINDS, ['memory']);
    assert.equal(memoryDataDir(config), '.keelson/memory');
    assert.equal(memoryDataDir(loadMemoryServiceConfig({ KEELSON_DATA_DIR: '/var/keelson' })), '/var/keelson/memory');
    assert.equal(memoryDataDir(loadMemoryServiceConfig({ MEMORY_DATA_DIR: '/data/mem' })), '/data/mem');
  });

  it('refuses weaviate without WEAVIATE_URL, and OpenAI without a key file, naming the setting', () => {
    assert.throws(() => loadMemoryServiceConfig({ MEMORY_STORE: 'weaviate' }), /WEAVIATE_URL/);
    assert.throws(() => loadMemoryServiceConfig({ EMBEDDINGS_PROVIDER: 'openai' }), /EMBEDDINGS_API_KEY_FILE/);
    assert.throws(() => loadMemoryServiceConfig({ MEMORY_STORE: 'chroma' }), /MEMORY_STORE/);
    assert.throws(() => loadMemoryServiceConfig({ MEMORY_KINDS: 'memory,Bad-Kind' }), /MEMORY_KINDS/);
    assert.throws(() => loadMemoryServiceConfig({ WEAVIATE_HYBRID_ALPHA: '1.5' }), /WEAVIATE_HYBRID_ALPHA/);
    assert.equal(loadMemoryServiceConfig({ WEAVIATE_HYBRID_ALPHA: '0.75' }).WEAVIATE_HYBRID_ALPHA, 0.75);
  });
});
