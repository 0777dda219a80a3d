/**
 * `rollout webhooks` end to end against a Temporal dev server: a signed delivery becomes a signal-with-start of
 * the pool controller's contract (workflow type, id, input, signal name and payload). No worker runs: the
 * controller workflow is not registered yet, and the started workflow's history shows what the receiver sent.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Webhooks } from '@octokit/webhooks';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  POOL_CONTROLLER_WORKFLOW_TYPE,
  poolWorkflowId,
  type PoolControllerInput,
  type PoolJobEvent,
} from '../../workflows/pool-contract.js';
import { runCli } from '../../cli/run.js';
import { copyProject } from '../helpers/project-copy.js';
import { startDevServer, uniqueNames } from '../helpers/temporal.js';
import { runRollout } from './run-cli.js';

const SECRET = 'cli-webhooks-secret';
const LABELS = ['self-hosted', 'runner-group=postsubmit', 'environment=testing', 'cpu'];

describe('rollout webhooks', () => {
  let env: TestWorkflowEnvironment;
  let cliEnv: Record<string, string>;
  const { taskQueue } = uniqueNames('rollout webhooks');
  const project = `webhooks-${taskQueue.slice(-8)}`;

  before(async () => {
    env = await startDevServer();
    cliEnv = { TEMPORAL_ADDRESS: env.connection.options.address, ROLLOUT_TASK_QUEUE: taskQueue, GCP_PROJECT: project };
  });
  after(() => env.teardown());

  test('without the secret it refuses to start, before contacting Temporal (exit 2)', async () => {
    const run = await runRollout(['webhooks', '--port', '0'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /GITHUB_WEBHOOK_SECRET must hold the secret of the GitHub webhook/);
    assert.equal((await runRollout(['webhooks'], { GITHUB_WEBHOOK_SECRET: SECRET })).code, 2);
    // As a clone runs it: the receiver's sources are part of the project.
    const clone = copyProject({ installed: true });
    try {
      const cloned = await clone.rollout(['webhooks', '--port', '0'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
      assert.equal(cloned.code, 2, cloned.stderr);
      assert.match(cloned.stderr, /GITHUB_WEBHOOK_SECRET/);
    } finally {
      clone.remove();
    }
  });

  test("a signed workflow_job delivery signal-with-starts the controller of the job's pool", async () => {
    const stop = new AbortController();
    let stdout = '';
    const listening = new Promise<string>((resolve) => {
      const check = setInterval(() => {
        const match = /"url":"([^"]+)"/.exec(stdout);
        if (match?.[1] !== undefined) {
          clearInterval(check);
          resolve(match[1]);
        }
      }, 20);
    });
    const running = runCli(['--json', 'webhooks', '--port', '0', '--host', '127.0.0.1'], {
      env: { ...cliEnv, GITHUB_WEBHOOK_SECRET: SECRET },
      signal: stop.signal,
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: () => true },
    });
    try {
      const url = await listening;
      const body = JSON.stringify({
        action: 'queued',
        workflow_job: { id: 41, run_id: 40, labels: LABELS, runner_name: null, status: 'queued' },
      });
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'workflow_job',
          'x-github-delivery': 'delivery-41',
          'x-hub-signature-256': await new Webhooks({ secret: SECRET }).sign(body),
        },
        body,
      });
      assert.equal(response.status, 202, await response.text());
    } finally {
      stop.abort();
    }
    assert.equal(await running, 0);
    assert.match(stdout, /"event":"stopped".*"forwarded":1/);

    const handle = env.client.workflow.getHandle(poolWorkflowId(project, 'testing/postsubmit/cpu'));
    const description = await handle.describe();
    assert.equal(description.type, POOL_CONTROLLER_WORKFLOW_TYPE);
    assert.equal(description.taskQueue, taskQueue);
    const history = await handle.fetchHistory();
    const converter = env.client.options.loadedDataConverter.payloadConverter;
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    const input: PoolControllerInput = { project, pool: 'testing/postsubmit/cpu' };
    assert.deepEqual(converter.fromPayload(started?.input?.payloads?.[0] ?? {}), input);
    const signalled = history.events?.find(
      (event) => event.workflowExecutionSignaledEventAttributes,
    )?.workflowExecutionSignaledEventAttributes;
    assert.equal(signalled?.signalName, 'workflow-job');
    const event: PoolJobEvent = {
      action: 'queued',
      jobId: 41,
      runId: 40,
      labels: LABELS,
      runnerName: null,
      deliveryId: 'delivery-41',
    };
    assert.deepEqual(converter.fromPayload(signalled?.input?.payloads?.[0] ?? {}), event);
    await handle.terminate('test over');
  });
});
