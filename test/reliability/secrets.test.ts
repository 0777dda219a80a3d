/**
 * Secrets never enter workflow history: a rollout run by a worker holding a GitHub token and a GitHub App
 * private key (a throwaway RSA key), with API failures injected so that error messages are recorded, leaves
 * neither the token, nor any line of the key, nor the installation tokens and JWTs derived from them in the
 * history or pending state of any workflow.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { resumeUpdate } from '../../workflows/rollout-controls-contract.js';
import { seedVersionTemplates } from '../../devstack/simulator.js';
import { startRollout } from '../../testbed/rollouts.js';
import { startE2eStack, type E2eStack } from '../helpers/e2e-stack.js';
import { OPERATOR, SCENARIO_SIMULATOR, isRunning, rolloutState, scenarioInput } from './scenario.js';

const TOKEN = `ghp_${randomBytes(18).toString('hex')}`;
const PRIVATE_KEY = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
}).privateKey;

let stack: E2eStack;
before(async () => {
  stack = await startE2eStack({
    simulator: SCENARIO_SIMULATOR,
    workerEnv: {
      GITHUB_TOKEN: TOKEN,
      GITHUB_APP_ID: '123456',
      GITHUB_APP_INSTALLATION_ID: '654321',
      GITHUB_APP_PRIVATE_KEY: PRIVATE_KEY,
    },
  });
});
after(async () => {
  await stack?.close();
});

test('no secret of the worker appears in any workflow history, failure or pending state', async () => {
  const version = '5ec2e75000-sec';
  seedVersionTemplates(stack.simulator, version);
  stack.simulator.control.setFaults({
    endpoints: [
      // Non-retryable: the MIG step fails, its failure travels to the rollout, which pauses until resumed.
      { endpoint: 'compute.regionInstanceGroupManagers.patch', status: 400, count: 1 },
      // Retryable: absorbed by the retries within an attempt, so the answers the worker logged never reach history.
      { endpoint: 'github.runners.list', status: 500, count: 4 },
    ],
  });
  const handle = await startRollout(
    stack,
    scenarioInput(version, { groups: 'presubmit', types: 'cpu', autoApprove: true }),
  );
  let resumed = false;
  while (await isRunning(handle)) {
    const state = await rolloutState(handle);
    if (state.pause !== undefined && !resumed) {
      assert.match(state.pause.reason, /failed/);
      await handle.executeUpdate(resumeUpdate, { args: [{ identity: OPERATOR, reason: 'fault injected on purpose' }] });
      resumed = true;
    }
    await sleep(300);
  }
  const result = await handle.result();
  assert.equal(result.outcome, 'completed', result.evidence.join('\n'));
  assert.ok(resumed, 'the injected patch failure never paused the rollout');

  const texts: string[] = [];
  let workflows = 0;
  for await (const execution of stack.client.workflow.list()) {
    const workflow = stack.client.workflow.getHandle(execution.workflowId, execution.runId);
    texts.push(readable(await workflow.fetchHistory()), readable((await workflow.describe()).raw));
    workflows += 1;
  }
  const everything = texts.join('\n');
  assert.ok(workflows >= 3, `only ${workflows} workflows found`);
  // The scan covers the failure the non-retryable fault caused, as recorded; the retryable ones did happen.
  assert.match(everything, /Injected error 400/);
  assert.equal(stack.simulator.control.counters()['github.runners.list']?.injectedFaults, 4);

  assert.equal(everything.includes(TOKEN), false, 'the GitHub token is in a history');
  for (const line of PRIVATE_KEY.split('\n').filter((line) => line.trim() !== '')) {
    assert.equal(everything.includes(line), false, `a line of the private key is in a history: ${line}`);
  }
  assert.doesNotMatch(everything, /ghs_[0-9a-f]{20,}/, 'an installation token is in a history');
  assert.doesNotMatch(everything, /eyJhbGciOi/, 'a JWT is in a history');
  assert.doesNotMatch(
    everything,
    /authorization":\s*"(?:token|bearer) [^[]/i,
    'an authorization header is in a history',
  );
  const installationTokens = stack.simulator.control.counters()['github.app.installationToken']?.requests ?? 0;
  assert.ok(installationTokens > 0, 'the worker never authenticated as the GitHub App');
});

/** JSON of a history or description with every byte field (payloads, failure details) decoded as text. */
function readable(value: unknown): string {
  return JSON.stringify(value, (_key, field: unknown) =>
    field instanceof Uint8Array ? Buffer.from(field).toString('utf8') : field,
  );
}
