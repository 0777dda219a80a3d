import assert from 'node:assert/strict';
import { test } from 'node:test';
import { restrictedImportMessages as messagesFor } from '../helpers/import-rules.js';

// Linted as if it were this existing workflow file, so the project's real eslint.config.js decides.
const WORKFLOW_FILE = 'workflows/index.ts';
const ACTIVITY_FILE = 'activities/contract.ts';
const RECEIVER_FILE = 'webhooks/receiver.ts';

function restrictedImportMessages(code: string, file = WORKFLOW_FILE): Promise<string[]> {
  return messagesFor(code, file);
}

test('workflow files may not import Node built-ins', async () => {
  for (const code of [
    "import fs from 'node:fs';\nexport const size = fs.statSync('x').size;\n",
    "import { readFileSync } from 'fs';\nexport const text = readFileSync('x', 'utf8');\n",
  ]) {
    const messages = await restrictedImportMessages(code);
    assert.equal(messages.length, 1, code);
    assert.match(messages[0] ?? '', /Workflows must stay deterministic: no Node built-ins\./);
  }
});

test('workflow files may import only types from activities, worker and cli', async () => {
  const valueImport = await restrictedImportMessages(
    "import { createActivities } from '../activities/index.js';\nexport const factory = createActivities;\n",
  );
  assert.equal(valueImport.length, 1);
  assert.match(valueImport[0] ?? '', /only types from activities/);

  const typeImport = await restrictedImportMessages(
    "import type { RolloutActivities } from '../activities/contract.js';\nexport type Proxy = RolloutActivities;\n",
  );
  assert.deepEqual(typeImport, []);
});

test('workflow files may import only types from config', async () => {
  const valueImport = await restrictedImportMessages(
    "import { loadTemporalConfig } from '../config/temporal.js';\nexport const load = loadTemporalConfig;\n",
  );
  assert.equal(valueImport.length, 1);
  assert.match(valueImport[0] ?? '', /only types from .*config\//);
});

test('the restriction applies to workflows only', async () => {
  const messages = await restrictedImportMessages(
    "import fs from 'node:fs';\nexport const size = fs.statSync('x').size;\n",
    ACTIVITY_FILE,
  );
  assert.deepEqual(messages, []);
});

test('the webhook receiver may import only types from the layers that hold credentials', async () => {
  const valueImport = await restrictedImportMessages(
    "import { createActivities } from '../activities/index.js';\nexport const factory = createActivities;\n",
    RECEIVER_FILE,
  );
  assert.equal(valueImport.length, 1);
  assert.match(valueImport[0] ?? '', /webhook receiver may import only types/);
  const workflowImport = await restrictedImportMessages(
    "import { DeliveryHandler } from '../webhooks/deliveries.js';\nexport const handler = DeliveryHandler;\n",
  );
  assert.equal(workflowImport.length, 1);
  assert.deepEqual(
    await restrictedImportMessages(
      "import { poolOfJob } from '../runner-config/pools.js';\nexport const place = poolOfJob;\n",
      RECEIVER_FILE,
    ),
    [],
  );
});
