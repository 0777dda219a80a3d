/**
 * testbed/ holds code that only tests and benchmarks run: lint keeps every production folder from importing it,
 * and it from importing tests or benchmarks. Each snippet is linted as if it were an existing file of the folder,
 * so the project's real eslint.config.js decides.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { restrictedImportMessages } from '../helpers/import-rules.js';

/** One existing file per production folder. */
const PRODUCTION_FILES = [
  'activities/index.ts',
  'worker/main.ts',
  'simulator/clock.ts',
  'runner-config/index.ts',
  'config/env.ts',
  'devstack/stack.ts',
  'cli/stack.ts',
  'workflow-check/check.ts',
  'webhooks/receiver.ts',
  'workflows/index.ts',
];

test('no production folder may import the test bed, not even its types', async () => {
  for (const file of PRODUCTION_FILES) {
    const depth = '../'.repeat(file.split('/').length - 1);
    for (const code of [
      `import { startRollout } from '${depth}testbed/rollouts.js';\nexport const start = startRollout;\n`,
      `import type { RolloutHandle } from '${depth}testbed/rollouts.js';\nexport type Handle = RolloutHandle;\n`,
    ]) {
      const messages = await restrictedImportMessages(code, file);
      assert.equal(messages.length, 1, `${file}: ${code}`);
      assert.match(messages[0] ?? '', /Production code does not import testbed\//);
    }
  }
});

test('the test bed imports production modules but neither tests nor benchmarks', async () => {
  const file = 'testbed/rollouts.ts';
  assert.deepEqual(
    await restrictedImportMessages(
      "import { startLocalStack } from '../devstack/stack.js';\nexport const s = startLocalStack;\n",
      file,
    ),
    [],
  );
  for (const code of [
    "import { startE2eStack } from '../test/helpers/e2e-stack.js';\nexport const s = startE2eStack;\n",
    "import { startBenchStack } from '../bench/stack.js';\nexport const s = startBenchStack;\n",
  ]) {
    const messages = await restrictedImportMessages(code, file);
    assert.equal(messages.length, 1, code);
    assert.match(messages[0] ?? '', /The test bed does not import tests or benchmarks/);
  }
});

test('tests and benchmarks may import the test bed', async () => {
  for (const [file, depth] of [
    ['test/helpers/e2e-stack.ts', '../../'],
    ['bench/stack.ts', '../'],
  ] as const) {
    const code = `import { startRollout } from '${depth}testbed/rollouts.js';\nexport const start = startRollout;\n`;
    assert.deepEqual(await restrictedImportMessages(code, file), [], file);
  }
});
