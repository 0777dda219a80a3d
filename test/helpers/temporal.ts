import { randomUUID } from 'node:crypto';
import { TestWorkflowEnvironment, type DevServerConfig } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { readServersManifest } from '../../cli/temporal-binary.js';
import { resolveTestServer } from '../../testbed/test-server.js';

export interface TemporalBinaries {
  readonly cli: string;
  readonly testServer: string;
}

let runtimeInstalled = false;

/** Tests stay silent unless ROLLOUT_TEST_LOG_LEVEL asks for SDK logs. */
export function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const level = process.env['ROLLOUT_TEST_LOG_LEVEL'];
  Runtime.install({ logger: new DefaultLogger(level === undefined ? 'ERROR' : (level as 'INFO')) });
}

/** Paths provisioned by scripts/temporal-servers: explicit env first, then the cache manifest it writes. */
export function temporalBinaries(): TemporalBinaries {
  const cli = process.env['TEMPORAL_CLI_PATH'] ?? readServersManifest()['TEMPORAL_CLI_PATH'];
  if (cli === undefined) {
    throw new Error('Temporal server binaries are not provisioned: run `bash scripts/temporal-servers` first');
  }
  return { cli, testServer: resolveTestServer() };
}

/**
 * The SDK gives an ephemeral server five seconds to answer, a limit fixed in its core; on two loaded cores a server
 * that registers search attributes can need longer. A start that timed out (the SDK killed its process) is tried
 * again, so a slow start is not taken for a failed test.
 */
async function startEphemeral(start: () => Promise<TestWorkflowEnvironment>): Promise<TestWorkflowEnvironment> {
  installQuietRuntime();
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      if (attempt >= 3 || !String(error).includes('did not start within')) throw error;
    }
  }
}

/** A time-skipping test server for one test file. Always `await env.teardown()` in `after`. */
export async function startTimeSkippingServer(): Promise<TestWorkflowEnvironment> {
  return startEphemeral(() =>
    TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: temporalBinaries().testServer } },
    }),
  );
}

/** A Temporal CLI dev server (in-memory unless dbFilename is given) for one test file. */
export async function startDevServer(
  options: {
    dbFilename?: string;
    ui?: boolean;
    searchAttributes?: DevServerConfig['searchAttributes'];
  } = {},
): Promise<TestWorkflowEnvironment> {
  return startEphemeral(() =>
    TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: temporalBinaries().cli },
        ...(options.dbFilename === undefined ? {} : { dbFilename: options.dbFilename }),
        ...(options.ui === undefined ? {} : { ui: options.ui }),
        ...(options.searchAttributes === undefined ? {} : { searchAttributes: options.searchAttributes }),
      },
    }),
  );
}

/** A task queue and workflow-id prefix unique to one test, so tests can never see each other's work. */
export function uniqueNames(title: string): { taskQueue: string; workflowId: (suffix?: string) => string } {
  const slug = title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, 40);
  const nonce = randomUUID().slice(0, 8);
  return {
    taskQueue: `test-${slug}-${nonce}`,
    workflowId: (suffix = 'wf') => `${slug}-${suffix}-${nonce}`,
  };
}
