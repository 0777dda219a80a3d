// Makes a fresh cluster's namespace ready for rollouts, for scripts/temporal-cluster: registers the rollout's search
// attributes and returns once a workflow carrying one has started (a new namespace is "not found" for seconds
// after it was created, until every frontend's cache has refreshed).
// Usage: temporal-cluster-ready.ts <temporal-cli> <address> <namespace>
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { missingSearchAttributes, registerMissingSearchAttributes } from '../devstack/search-attributes.js';
import { RolloutVersionSearchAttribute } from '../workflows/rollout-contract.js';

const TIMEOUT_MS = 60_000;
const PROBE_TASK_QUEUE = 'temporal-cluster-probe';

const [binary, address, namespace] = process.argv.slice(2);
if (binary === undefined || address === undefined || namespace === undefined) {
  throw new Error('usage: temporal-cluster-ready.ts <temporal-cli> <address> <namespace>');
}
const deadline = Date.now() + TIMEOUT_MS;

/** Retries `step` until it returns true or the deadline passes; the last failure explains a timeout. */
async function retry(what: string, step: () => Promise<boolean>): Promise<void> {
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await step()) return;
      last = undefined;
    } catch (error) {
      last = error;
    }
    await sleep(500);
  }
  throw new Error(`${what} timed out`, { cause: last });
}

const connection = await Connection.connect({ address, connectTimeout: '10 seconds' });
try {
  const target = { binary, connection, address, namespace };
  await retry('registering the search attributes', async () => {
    await registerMissingSearchAttributes(target);
    return (await missingSearchAttributes(target)).length === 0;
  });
  const client = new Client({ connection, namespace });
  await retry('starting a probe workflow', async () => {
    const handle = await client.workflow.start('temporalClusterProbe', {
      taskQueue: PROBE_TASK_QUEUE,
      workflowId: `temporal-cluster-probe-${Date.now()}`,
      typedSearchAttributes: [{ key: RolloutVersionSearchAttribute, value: 'probe' }],
    });
    await handle.terminate('readiness probe');
    return true;
  });
  console.log(`ready: ${address} namespace ${namespace}`);
} finally {
  await connection.close();
}
