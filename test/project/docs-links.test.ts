import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '../..');
const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).map((name) => `docs/${name}`)].filter((path) =>
  path.endsWith('.md'),
);

test('README and docs link only to files in the repository, and never outside it', () => {
  const problems: string[] = [];
  for (const doc of DOCS) {
    const text = readFileSync(join(ROOT, doc), 'utf8');
    for (const [, target = ''] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target) || target.startsWith('#')) continue;
      const file = resolve(dirname(join(ROOT, doc)), target.split('#')[0] ?? '');
      if (!file.startsWith(`${ROOT}/`) || !existsSync(file)) problems.push(`${doc}: ${target}`);
    }
    if (/\.\.\/shared\/|shared\/DESIGN/.test(text)) problems.push(`${doc}: points at a folder outside the repository`);
  }
  assert.deepEqual(problems, []);
});
