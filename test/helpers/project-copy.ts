/**
 * The project's sources copied to a temporary directory, to run `bin/rollout.js` as a clone would: with the
 * installed packages linked in, or without them (a fresh clone before `npm ci`), and with files edited as an
 * operator might edit theirs, without touching the repository the other tests read.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
/** What `bin/rollout.js` loads: the package manifest (ESM) and every source folder the CLI imports from. */
const SOURCES = [
  'package.json',
  'bin',
  'cli',
  'config',
  'activities',
  'runner-config',
  'simulator',
  'worker',
  'workflows',
  'workflow-check',
  'devstack',
  'webhooks',
];
const RUN_TIMEOUT_MS = 60_000;

export interface ProjectCopy {
  readonly root: string;
  /** Runs `node bin/rollout.js ARGS` in the copy with only PATH, HOME and `env` set; killed after a minute. */
  rollout(args: readonly string[], env?: Readonly<Record<string, string>>): Promise<ProcessRun>;
  remove(): void;
}

export interface ProcessRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function copyProject(options: { readonly installed: boolean }): ProjectCopy {
  const root = mkdtempSync(join(tmpdir(), 'rollout-clone-'));
  for (const source of SOURCES) cpSync(join(ROOT, source), join(root, source), { recursive: true });
  if (options.installed) symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
  return {
    root,
    async rollout(args, env = {}) {
      const child = spawn(process.execPath, [join(root, 'bin/rollout.js'), ...args], {
        cwd: root,
        env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? root, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
        // A command that hangs is killed (code null) so its test fails instead of waiting forever.
        timeout: RUN_TIMEOUT_MS,
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const [code] = (await once(child, 'close')) as [number | null];
      return { code, stdout, stderr };
    },
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}
