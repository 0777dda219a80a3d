#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx's loader, so a fresh clone needs no build step.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

try {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
} catch (error) {
  // A clone before `npm ci`, or after a pull that added a dependency: say what to run, not a resolver stack.
  const missing = /^Cannot find package '([^']+)'/.exec(error instanceof Error ? error.message : '');
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || missing === null) throw error;
  const root = dirname(dirname(fileURLToPath(import.meta.url)));
  process.stderr.write(`rollout: the package ${missing[1]} is not installed: run \`npm ci\` in ${root}\n`);
  process.exitCode = 1;
}
