import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import nodeVault from 'node-vault';
import { describeSecretSourceContract } from '../testing/secret-source-contract';
import { VaultSecretSource } from './vault-secret-source';

// Runs against a real Vault when VAULT_ADDR and VAULT_TOKEN_FILE are set (a dev server:
// `vault server -dev`, its root token written to a file). The token needs create/read/update on
// <VAULT_KV_MOUNT, default "secret">/data/keelson-contract-*; each run writes under a fresh path.
const address = process.env['VAULT_ADDR'];
const tokenFile = process.env['VAULT_TOKEN_FILE'];
const mount = process.env['VAULT_KV_MOUNT'] || 'secret';
const prefix = `keelson-contract-${randomBytes(4).toString('hex')}`;

describeSecretSourceContract(
  'VaultSecretSource (a real Vault at VAULT_ADDR)',
  {
    async open() {
      const writer = nodeVault({ endpoint: address!, token: readFileSync(tokenFile!, 'utf8').trim(), debug: () => undefined });
      return {
        source: new VaultSecretSource({ address: address!, auth: { tokenFile: tokenFile! } }),
        async put(key, value) {
          await writer.write(`${mount}/data/${prefix}/${key}`, { data: { value } });
          return `vault:${mount}/data/${prefix}/${key}#value`;
        },
        missing: (key) => `vault:${mount}/data/${prefix}/${key}#value`,
        close: async () => undefined,
      };
    },
  },
  address && tokenFile
    ? {}
    : { skip: `${address ? 'VAULT_TOKEN_FILE' : 'VAULT_ADDR'} not set: no Vault server to run the SecretSource contract against (Vault cannot be installed here; the fake Vault run covers the protocol)` },
);
