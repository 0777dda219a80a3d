/**
 * A pool's settings at run time (`rollout pools set`) over the fleet file's policy: which changes are refused,
 * and the policy the controller sizes by. Pure: the workflow's update validator and the CLI (before it sends
 * anything) apply the same rules.
 */
import { POOL_MODES, type AutoscalingBounds, type PoolPolicy } from '../runner-config/types.js';
import type { PoolSettings, PoolSettingsChange } from './pool-contract.js';

/** What the rules know besides the change; a part left out is not checked against. */
export interface SettingsContext {
  /** The settings made so far; undefined when they are not known (the CLI, before asking the controller). */
  readonly current?: PoolSettings | undefined;
  /** The fleet file's policy of the pool; undefined before the controller has read it. */
  readonly fleet?: PoolPolicy | undefined;
}

/** Why `change` is refused for `pool`, or undefined when it may be applied. */
export function settingsProblem(
  pool: string,
  change: PoolSettingsChange,
  context: SettingsContext,
): string | undefined {
  const { mode, min, max, reset } = change;
  if (reset !== undefined && typeof reset !== 'boolean') {
    return `reset for pool ${pool} is true or false (not ${JSON.stringify(reset)})`;
  }
  if (mode === undefined && min === undefined && max === undefined && reset !== true) {
    return `nothing to set for pool ${pool}: give a mode, a min or a max, or reset`;
  }
  if (mode !== undefined && !(POOL_MODES as readonly unknown[]).includes(mode)) {
    return `unknown mode ${JSON.stringify(mode)} for pool ${pool} (modes: ${POOL_MODES.join(', ')})`;
  }
  for (const [name, value] of [
    ['min', min],
    ['max', max],
  ] as const) {
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) {
      return `${name} of pool ${pool} must be a whole number, 0 or more (not ${String(value)})`;
    }
  }
  const ceiling = fleetBounds(context.fleet)?.max;
  if (ceiling !== undefined) {
    for (const [name, value] of [
      ['min', min],
      ['max', max],
    ] as const) {
      if (value !== undefined && value > ceiling) {
        return `${name} ${value} is beyond the fleet file's max ${ceiling} for pool ${pool}`;
      }
    }
  }
  if (context.current === undefined && reset !== true) {
    return min !== undefined && max !== undefined && min > max
      ? `min ${min} is more than max ${max} for pool ${pool}`
      : undefined;
  }
  const merged = mergeSettings(context.current ?? {}, change);
  const bounds = boundsInForce(context.fleet, merged);
  if (bounds.min !== undefined && bounds.max !== undefined && bounds.min > bounds.max) {
    const from = (field: 'min' | 'max'): string => (merged[field] === undefined ? " (the fleet file's)" : '');
    return `min ${bounds.min}${from('min')} is more than max ${bounds.max}${from('max')} for pool ${pool}`;
  }
  const modeInForce = merged.mode ?? context.fleet?.mode;
  if (
    context.fleet !== undefined &&
    modeInForce === 'queue' &&
    (bounds.min === undefined || bounds.max === undefined)
  ) {
    return `pool ${pool} has no bounds in the fleet file: mode queue needs a min and a max`;
  }
  return undefined;
}

/** The settings after `change`: the fields it gives replace the ones set before, all of them after a reset. */
export function mergeSettings(current: PoolSettings, change: PoolSettingsChange): PoolSettings {
  const before = change.reset === true ? {} : current;
  const mode = change.mode ?? before.mode;
  const min = change.min ?? before.min;
  const max = change.max ?? before.max;
  return {
    ...(mode === undefined ? {} : { mode }),
    ...(min === undefined ? {} : { min }),
    ...(max === undefined ? {} : { max }),
  };
}

/**
 * The bounds in force: each set one over the fleet file's. The fleet file's max caps them even when it was
 * lowered after they were set, so a smaller fleet file always wins.
 */
export function boundsInForce(fleet: PoolPolicy | undefined, settings: PoolSettings): Partial<AutoscalingBounds> {
  const planned = fleetBounds(fleet);
  const ceiling = planned?.max ?? Infinity;
  const max = settings.max ?? planned?.max;
  const min = settings.min ?? planned?.min;
  const cappedMax = max === undefined ? undefined : Math.min(max, ceiling);
  const cappedMin = min === undefined ? undefined : Math.min(min, ceiling);
  return {
    ...(cappedMin === undefined ? {} : { min: cappedMin }),
    ...(cappedMax === undefined ? {} : { max: cappedMax }),
  };
}

/**
 * The policy the controller sizes by. Mode `queue` without both bounds (a setting made before the fleet file
 * lost its bounds) sizes nothing rather than guess a size: it acts as `off`.
 */
export function policyInForce(fleet: PoolPolicy, settings: PoolSettings): PoolPolicy {
  const { environment, group, type } = fleet;
  const bounds = boundsInForce(fleet, settings);
  if ((settings.mode ?? fleet.mode) === 'off' || bounds.min === undefined || bounds.max === undefined) {
    return { environment, group, type, mode: 'off' };
  }
  const warm = fleet.mode === 'queue' ? fleet.warm : 0;
  return { environment, group, type, mode: 'queue', bounds: { min: bounds.min, max: bounds.max }, warm };
}

function fleetBounds(fleet: PoolPolicy | undefined): AutoscalingBounds | undefined {
  return fleet?.mode === 'queue' ? fleet.bounds : undefined;
}
