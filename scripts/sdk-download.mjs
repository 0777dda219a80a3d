// Last resort of scripts/temporal-servers: let the Temporal SDK download a server binary (needs the internet),
// then copy the downloaded executable to the given target path.
import { copyFileSync, chmodSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';

const [kind, downloadDir, target] = process.argv.slice(2);
if (!['dev-server', 'time-skipping'].includes(kind ?? '') || !downloadDir || !target) {
  console.error('usage: sdk-download.mjs dev-server|time-skipping DOWNLOAD_DIR TARGET');
  process.exit(2);
}

const executable = { type: 'cached-download', downloadDir };
const env =
  kind === 'dev-server'
    ? await TestWorkflowEnvironment.createLocal({ server: { executable } })
    : await TestWorkflowEnvironment.createTimeSkipping({ server: { executable } });
await env.teardown();

const newest = readdirSync(downloadDir)
  .map((name) => join(downloadDir, name))
  .filter((path) => statSync(path).isFile() && !path.endsWith('.downloading'))
  .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
if (newest === undefined) {
  console.error(`sdk-download: nothing was downloaded into ${downloadDir}`);
  process.exit(1);
}
copyFileSync(newest, target);
chmodSync(target, 0o755);
