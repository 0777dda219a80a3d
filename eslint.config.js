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

/** testbed/ holds what only tests and benchmarks run; production is built without it. */
const testbedBarred = {
  group: ['**/testbed/**', '**/testbed'],
  message: 'Production code does not import testbed/ (code for tests and benchmarks only).',
};

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
        '**/config/**',
        '**/config',
        '**/cli/**',
        '**/cli',
        '**/simulator/**',
        '**/devstack/**',
        '**/devstack',
        '**/webhooks/**',
        '**/webhooks',
      ],
      allowTypeImports: true,
      message:
        'Workflows may import only types from activities/, worker/, config/, cli/, simulator/, devstack/ and webhooks/.',
    },
    {
      group: ['@temporalio/client', '@temporalio/worker', '@temporalio/activity', '@temporalio/testing'],
      message: 'Workflows may use only @temporalio/workflow (and @temporalio/common).',
    },
    testbedBarred,
  ],
};

/**
 * The layers above workflows, lowest first: the engine's adapters (activities, worker, simulator, runner-config,
 * config), the local stack that composes them (devstack), the CLI over both; the test bed (testbed), then tests
 * and benchmarks on top. A layer imports only from the layers below it.
 */
const above = (folders, message) => ({
  patterns: [{ group: folders.flatMap((folder) => [`**/${folder}/**`, `**/${folder}`]), message }],
});
const productionAbove = (folders, message) => ({
  patterns: [...above(folders, message).patterns, testbedBarred],
});
const layers = [
  {
    files: ['activities/**/*.ts', 'worker/**/*.ts', 'simulator/**/*.ts', 'runner-config/**/*.ts', 'config/**/*.ts'],
    rules: productionAbove(
      ['devstack', 'cli', 'test', 'bench'],
      'The engine does not import the local stack, the CLI, tests or benchmarks.',
    ),
  },
  {
    files: ['devstack/**/*.ts'],
    rules: productionAbove(['cli', 'test', 'bench'], 'The local stack does not import the CLI, tests or benchmarks.'),
  },
  {
    files: ['cli/**/*.ts', 'workflow-check/**/*.ts'],
    rules: productionAbove(['test', 'bench'], 'Production code does not import tests or benchmarks.'),
  },
  {
    files: ['testbed/**/*.ts'],
    rules: above(['test', 'bench'], 'The test bed does not import tests or benchmarks.'),
  },
  { files: ['bench/**/*.ts'], rules: above(['test'], 'Benchmarks do not import test code.') },
].map(({ files, rules }) => ({ files, rules: { '@typescript-eslint/no-restricted-imports': ['error', rules] } }));

/** The webhook receiver: pure runner-config and workflow contracts, never the layers that hold credentials. */
export const webhookImportRestrictions = {
  patterns: [
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
      message: 'The webhook receiver may import only types from activities/, worker/, cli/ and simulator/.',
    },
    testbedBarred,
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
  ...layers,
  {
    files: ['workflows/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', workflowImportRestrictions] },
  },
  {
    // The receiver reaches Temporal only through the sink it is given, and holds no cloud credentials.
    files: ['webhooks/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', webhookImportRestrictions] },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
