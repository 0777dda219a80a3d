import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [
  'assert',
  'async_hooks',
  'buffer',
  'child_process',
  'cluster',
  'crypto',
  'dgram',
  'dns',
  'events',
  'fs',
  'fs/promises',
  'http',
  'http2',
  'https',
  'net',
  'os',
  'path',
  'perf_hooks',
  'process',
  'readline',
  'stream',
  'timers',
  'tls',
  'url',
  'util',
  'v8',
  'vm',
  'worker_threads',
  'zlib',
];

/**
 * Workflow code runs in Temporal's deterministic sandbox: it may use only the workflow SDK, its own files,
 * pure runner-config code and *types* from the side-effecting layers.
 */
export const workflowImportRestrictions = {
  paths: nodeBuiltins.map((name) => ({ name, message: 'Workflows must stay deterministic: no Node built-ins.' })),
  patterns: [
    { group: ['node:*'], message: 'Workflows must stay deterministic: no Node built-ins.' },
    {
      group: [
        '**/activities/**',
        '**/activities',
        '**/worker/**',
        '**/worker',
        '**/cli/**',
        '**/cli',
        '**/simulator/**',
      ],
      allowTypeImports: true,
      message: 'Workflows may import only types from activities/, worker/, cli/ and simulator/.',
    },
    {
      group: ['@temporalio/client', '@temporalio/worker', '@temporalio/activity', '@temporalio/testing'],
      message: 'Workflows may use only @temporalio/workflow (and @temporalio/common).',
    },
  ],
};

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.state/', 'test-results/', 'test/fixtures/lint/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite', 'before', 'after'] },
          ],
        },
      ],
      // Temporal workflow and activity functions are async by contract even when they await nothing.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-import-type-side-effects': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', workflowImportRestrictions] },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
