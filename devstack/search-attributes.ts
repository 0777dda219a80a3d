/**
 * Registers the rollout's search attributes ({@link ROLLOUT_SEARCH_ATTRIBUTE_FLAGS}) that a namespace lacks, with
 * the Temporal CLI: for a dev server whose database predates a key, and for a cluster's new namespace.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Connection } from '@temporalio/client';
import { ROLLOUT_SEARCH_ATTRIBUTE_FLAGS } from '../workflows/rollout-contract.js';
import { StackError } from './errors.js';

export interface SearchAttributeTarget {
  /** The Temporal CLI binary. */
  readonly binary: string;
  readonly connection: Connection;
  readonly address: string;
  readonly namespace: string;
}

/** The rollout's search attributes as name and CLI type (`Keyword`, `KeywordList`). */
export function rolloutSearchAttributes(): { readonly name: string; readonly type: string }[] {
  const attributes: { name: string; type: string }[] = [];
  for (let i = 0; i + 1 < ROLLOUT_SEARCH_ATTRIBUTE_FLAGS.length; i += 2) {
    const [name = '', type = ''] = (ROLLOUT_SEARCH_ATTRIBUTE_FLAGS[i + 1] ?? '').split('=');
    attributes.push({ name, type });
  }
  return attributes;
}

/** The names of the rollout's search attributes the namespace does not list yet. */
export async function missingSearchAttributes(target: SearchAttributeTarget): Promise<string[]> {
  const response = await target.connection.operatorService.listSearchAttributes({ namespace: target.namespace });
  const existing = new Set(Object.keys(response.customAttributes ?? {}));
  return rolloutSearchAttributes()
    .map((attribute) => attribute.name)
    .filter((name) => !existing.has(name));
}

export async function registerMissingSearchAttributes(target: SearchAttributeTarget): Promise<void> {
  const missing = new Set(await missingSearchAttributes(target));
  for (const { name, type } of rolloutSearchAttributes()) {
    if (!missing.has(name)) continue;
    const args = ['operator', 'search-attribute', 'create', '--name', name, '--type', type];
    const child = spawn(target.binary, [...args, '--address', target.address, '--namespace', target.namespace], {
      stdio: 'ignore',
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    if (code !== 0) throw new StackError(`could not register search attribute ${name} on ${target.address}`);
  }
}
