// Lint with the architecture's boundaries: every project carries a `type:*` tag, and the tags below say
// which layers may import which. Framework-free layers are also barred from importing NestJS.
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

const nestPackages = ['@nestjs/*', '@keelson/nest-kit'];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.nx/**', '.keelson/**', 'tmp/**', 'bench/results/**'] },
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  {
    files: ['**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: true,
          allow: [],
          // The serverless function loads these only when their settings are set (cold start), and imports
          // their types and small pure parts statically elsewhere; both are intended.
          checkDynamicDependenciesExceptions: ['@keelson/cost', '@keelson/messaging'],
          depConstraints: [
            { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: ['type:contracts'], bannedExternalImports: nestPackages },
            {
              sourceTag: 'type:core',
              onlyDependOnLibsWithTags: ['type:contracts', 'type:core', 'type:testing'],
              bannedExternalImports: nestPackages,
            },
            {
              sourceTag: 'type:testing',
              onlyDependOnLibsWithTags: ['type:contracts', 'type:core'],
              bannedExternalImports: nestPackages,
            },
            { sourceTag: 'type:nest', onlyDependOnLibsWithTags: ['type:contracts', 'type:core', 'type:nest', 'type:testing'] },
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:contracts', 'type:core', 'type:nest', 'type:testing'] },
            { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:contracts', 'type:core', 'type:testing'] },
          ],
        },
      ],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The testing lib is for tests only: production code never imports it.
    files: ['**/*.ts'],
    ignores: ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts', 'e2e/**', 'bench/**', 'libs/testing/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['@keelson/testing'], message: 'test code only' }] }],
    },
  },
  {
    // Tests read JSON bodies of many shapes; typing each would hide the assertion in ceremony.
    files: ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts', 'e2e/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
