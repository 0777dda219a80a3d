/**
 * An operator approves a waiting rollout from the real Temporal Web UI (served by the dev server) in headless
 * Chromium: More Actions -> Send an Update -> `approve`. The rollout must record the approval and leave the gate.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { chromium, type BrowserContext } from 'playwright-core';
import { ENGINE_DEFECT_WORKAROUNDS, startSimulator, type SimulatorHandle } from '../../simulator/index.js';
import { loadWorkerConfig } from '../../worker/config.js';
import { runWorker } from '../../worker/main.js';
import {
  ROLLOUT_SEARCH_ATTRIBUTES,
  ROLLOUT_WORKFLOW_TYPE,
  statusQuery,
  type RolloutInput,
  type RolloutResult,
  type RolloutState,
} from '../../workflows/rollout-contract.js';
import { startDevServer, uniqueNames } from '../helpers/temporal.js';

const CHROMIUM = '/usr/bin/chromium';
const chromiumMissing = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install chromium)`;
const SCREENSHOT_DIR = 'test-results';

let env: TestWorkflowEnvironment;
let simulator: SimulatorHandle;
let browser: BrowserContext | undefined;
let profileDir: string | undefined;
const stopWorker = new AbortController();
let worker: Promise<void> | undefined;
const { taskQueue, workflowId } = uniqueNames('approve in web ui');

before(async () => {
  if (chromiumMissing !== false) return;
  env = await startDevServer({ ui: true, searchAttributes: [...ROLLOUT_SEARCH_ATTRIBUTES] });
  simulator = await startSimulator({ port: 0, speed: 60, behaviours: ENGINE_DEFECT_WORKAROUNDS });
  const config = loadWorkerConfig({
    TEMPORAL_ADDRESS: env.connection.options.address,
    ROLLOUT_TASK_QUEUE: taskQueue,
    COMPUTE_API_ENDPOINT: simulator.url,
    GITHUB_API_URL: simulator.url,
    GITHUB_TOKEN: 'test-token',
    ROLLOUT_LOG_LEVEL: 'ERROR',
  });
  let ready!: () => void;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  worker = runWorker(config, { signal: stopWorker.signal, onReady: ready, activityTiming: { pollIntervalMs: 200 } });
  await Promise.race([isReady, worker]);
  // The machine has no outside network: nothing in Chromium may try to phone home, and the profile is fresh.
  profileDir = mkdtempSync(join(tmpdir(), 'rollout-chromium-'));
  browser = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  await browser?.close();
  if (profileDir !== undefined) rmSync(profileDir, { recursive: true, force: true });
  stopWorker.abort();
  await worker;
  await simulator?.close();
  await env?.teardown();
});

test('a promote approval sent from the Web UI moves the rollout past its gate', { skip: chromiumMissing }, async () => {
  assert.ok(browser);
  const input: RolloutInput = {
    // The simulator's fleet already runs this version's templates, so no templates need creating first.
    version: '0000000000-aaa',
    environments: ['prod'],
    regions: 'us-west1',
    groups: 'presubmit',
    types: 'cpu',
    soak: '1 second',
    requestedBy: 'browser-test',
    timing: { healthCheckInterval: '1 second' },
  };
  const id = workflowId('rollout');
  const handle = await env.client.workflow.start(ROLLOUT_WORKFLOW_TYPE, { taskQueue, workflowId: id, args: [input] });
  const waiting = await until(
    () => handle.query(statusQuery),
    (state) => state.gate?.kind === 'promote-approval',
  );
  assert.equal(waiting.stage, 'promote');

  const [host, port] = String(env.connection.options.address).split(':');
  const page = await browser.newPage();
  await page.goto(`http://${host}:${Number(port) + 1000}/namespaces/default/workflows/${id}`);
  await page.getByRole('button', { name: 'More Actions' }).click();
  await page.getByText('Send an Update', { exact: true }).locator('visible=true').first().click();
  // The page renders its action modals twice (wide and narrow layouts); only the open one is used.
  const dialog = page.locator('dialog[open]');
  // The update names come from the workflow's own handler metadata (a query the worker answers).
  await dialog.getByTestId('update-select-button').click();
  await dialog.getByRole('option', { name: /^approve/ }).click();
  const data = dialog.getByRole('textbox', { name: 'Data' });
  await data.click();
  // insertText bypasses the editor's bracket auto-closing, which would mangle typed JSON.
  await page.keyboard.insertText(
    JSON.stringify({ stage: 'promote', identity: 'ui-operator', reason: 'canaries look good' }),
  );
  // The editor reformats its JSON when it loses focus; submitting only after that keeps the click on the button.
  await dialog.getByTestId('update-id').click();
  await dialog.getByRole('button', { name: 'Submit' }).click();
  await dialog.waitFor({ state: 'hidden' });

  const approved = await until(
    () => handle.query(statusQuery),
    (state) => state.approvals.some((approval) => approval.stage === 'promote'),
  );
  const approval = approved.approvals.find((one) => one.stage === 'promote');
  assert.equal(approval?.identity, 'ui-operator');
  assert.equal(approval?.reason, 'canaries look good');
  // The canary ran the version the MIG already had, so after promotion there is nothing left to converge.
  const result = (await handle.result()) as RolloutResult;
  assert.equal(result.outcome, 'completed');

  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.reload();
  await page.getByText('Completed').locator('visible=true').first().waitFor();
  await page.screenshot({ path: join(SCREENSHOT_DIR, 'approve-in-web-ui.png'), fullPage: true });
});

/** Polls until `done` holds; the surrounding test timeout bounds the wait. */
async function until(read: () => Promise<RolloutState>, done: (state: RolloutState) => boolean): Promise<RolloutState> {
  for (;;) {
    const state = await read();
    if (done(state)) return state;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
