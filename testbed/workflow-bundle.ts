/**
 * Workflow code bundled once per process into a file that worker processes load, so that a restarted worker
 * polls in a couple of seconds instead of bundling workflows/ again; and the process's scratch directory that
 * holds it (with fleet files and databases), removed when the process exits.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../worker/compose.js';

let scratch: string | undefined;

/** A fresh path in this process's scratch directory. */
export function scratchPath(name: string): string {
  if (scratch === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'rollout-stack-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    scratch = dir;
  }
  return join(scratch, name);
}

let bundlePath: Promise<string> | undefined;

/** Bundles workflows/ once per process; workers load the file with `workflowBundle`. */
export function workflowBundlePath(): Promise<string> {
  if (bundlePath === undefined) {
    bundlePath = bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') }).then(
      (bundle) => {
        const path = scratchPath('workflow-bundle.js');
        writeFileSync(path, bundle.code);
        return path;
      },
    );
    // A failure is for whoever awaits the bundle, which a stack that failed to start first never does.
    bundlePath.catch(() => undefined);
  }
  return bundlePath;
}
