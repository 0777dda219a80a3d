/**
 * Every environment variable the CLI and worker read is documented in the README. Variables are found where
 * they are read: the keys of the configuration schemas (config/temporal.ts, worker/config.ts), and `env['NAME']`
 * lookups anywhere in the production folders.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '../..');
const PRODUCTION = [
  'bin',
  'cli',
  'config',
  'worker',
  'activities',
  'workflows',
  'runner-config',
  'simulator',
  'workflow-check',
  'devstack',
  'webhooks',
];
/** The modules whose zod schemas list the variables they read. */
const CONFIG_SCHEMAS = ['config/temporal.ts', 'worker/config.ts'];
/** The operating system's own variables, documented by it. */
const OS_VARIABLES = new Set(['HOME', 'PATH', 'XDG_CACHE_HOME']);

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.[jt]s$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name));
}

function variablesRead(): Set<string> {
  const names = new Set<string>();
  for (const schema of CONFIG_SCHEMAS) {
    const config = readFileSync(join(ROOT, schema), 'utf8');
    for (const [, name = ''] of config.matchAll(/^ {2}([A-Z][A-Z0-9_]*): optional/gm)) names.add(name);
  }
  for (const file of PRODUCTION.flatMap(sourceFiles)) {
    for (const [, name = ''] of readFileSync(file, 'utf8').matchAll(/\benv\[['"]([A-Z][A-Z0-9_]*)['"]\]/g)) {
      if (!OS_VARIABLES.has(name)) names.add(name);
    }
  }
  return names;
}

/** Names in the README's code spans; `GITHUB_APP_PRIVATE_KEY[_FILE]` stands for both spellings. */
function variablesDocumented(): Set<string> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const names = new Set<string>();
  for (const [span = ''] of readme.matchAll(/`[^`\n]+`/g)) {
    for (const [, name = '', suffix] of span.matchAll(/\b([A-Z][A-Z0-9_]+)(?:\[(_[A-Z0-9_]+)\])?/g)) {
      names.add(name);
      if (suffix !== undefined) names.add(`${name}${suffix}`);
    }
  }
  return names;
}

test('the README documents every environment variable the code reads', () => {
  const read = variablesRead();
  // The scan must see the configuration schema and the lookups, or it would prove nothing.
  for (const known of ['TEMPORAL_ADDRESS', 'GITHUB_APP_PRIVATE_KEY_FILE', 'TEMPORAL_CLI_PATH']) {
    assert.ok(read.has(known), `the scan finds ${known}`);
  }
  const documented = variablesDocumented();
  assert.deepEqual(
    [...read].filter((name) => !documented.has(name)),
    [],
  );
});
