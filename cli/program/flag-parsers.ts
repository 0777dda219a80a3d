/** Commander value parsers: each turns one flag's text into a value, or says in a few words what it must be. */
import { InvalidArgumentError } from 'commander';
import { BEHAVIOUR_NAMES, isBehaviourName, type BehaviourName } from '../../simulator/behaviours.js';

export function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('must be a whole number (0, 1, 2, …)');
  return Number(value);
}

export function positiveInteger(value: string): number {
  const n = wholeNumber(value);
  if (n === 0) throw new InvalidArgumentError('must be at least 1');
  return n;
}

/**
 * Each lane of a rollout holds one activity slot, and a task queue's slots add up over its workers (100 each by
 * default, ROLLOUT_ACTIVITY_SLOTS to change), so the CLI cannot know how many lanes will run: it takes up to one
 * lane per MIG of the largest fleets the engine is measured at (docs/benchmarks.md), and the plan notes when the
 * worker that planned has fewer slots. Refusing instead would wrongly stop a queue served by several workers.
 */
export const MAX_CONCURRENCY = 1000;

export function concurrency(value: string): number {
  const n = positiveInteger(value);
  if (n > MAX_CONCURRENCY) throw new InvalidArgumentError(`must be at most ${MAX_CONCURRENCY}`);
  return n;
}

export function portNumber(value: string): number {
  const n = wholeNumber(value);
  if (n > 65535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return n;
}

/** Comma-separated behaviour names; repeated flags add up. */
export function behaviourList(value: string, previous: BehaviourName[]): BehaviourName[] {
  const names = value
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const unknown = names.filter((name) => !isBehaviourName(name));
  if (unknown.length > 0 || names.length === 0) {
    throw new InvalidArgumentError(
      `unknown behaviour ${unknown.join(', ') || '""'} (behaviours: ${BEHAVIOUR_NAMES.join(', ')})`,
    );
  }
  return [...previous, ...names.filter(isBehaviourName)];
}

export function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new InvalidArgumentError('must be a number, 0 or more');
  return n;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a number above 0');
  return n;
}
