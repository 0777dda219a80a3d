import { z } from 'zod';

/**
 * Each way in which GCP Compute and GitHub are harder to live with than an ideal server, modelled as a switch.
 * The production profile turns every one on, the ideal profile none; docs/simulator.md lists each behaviour with
 * the public API reference it follows.
 */
export const BEHAVIOUR_NAMES = [
  /** Operations are PENDING/RUNNING for seconds to minutes; `wait` blocks at most 2 minutes and may return early. */
  'operationDurations',
  /** Every API call takes tens to hundreds of milliseconds of simulated time. */
  'callLatency',
  /** 5,000 GitHub requests an hour per installation, with GitHub's `x-ratelimit-*` headers; 304s are free. */
  'githubPrimaryLimit',
  /** About 100 concurrent GitHub requests and 900 points a minute, answered 403 or 429, not always with `retry-after`. */
  'githubSecondaryLimits',
  /** A VM that dies without deregistering leaves an offline runner, listed for up to a day. */
  'offlineRunners',
  /** A runner's `busy` flag shows the job it started or finished only some seconds later. */
  'staleBusy',
  /** Failed workflow runs are re-run: `run_attempt` above 1, and the jobs `filter` (latest/all) matters. */
  'reruns',
  /** The autoscaler follows CPU utilisation (busy VMs), not the job queue, where the fleet's autoscalers do. */
  'cpuAutoscaler',
  /** Some MIGs were switched to a PROACTIVE update policy by another tool before the rollout engine saw them. */
  'foreignProactiveMigs',
  /** Enum values are accepted in any case (`"opportunistic"`), as GCP accepts them. */
  'lowerCaseEnums',
  /** A MIG holds at most two versions. */
  'versionLimit',
  /** A regular-expression filter combined with AND or OR is refused with 400, as GCP refuses it. */
  'regexAndFilter',
  /** A mutation's `requestId` is remembered for 60 minutes, not forever. */
  'requestIdExpiry',
  /** Public release endpoints answer unauthenticated reads (with their own 60-an-hour limit). */
  'publicReleaseReads',
] as const;

export type BehaviourName = (typeof BEHAVIOUR_NAMES)[number];
export type Behaviours = Readonly<Record<BehaviourName, boolean>>;
export type BehaviourOverrides = Readonly<Partial<Record<BehaviourName, boolean>>>;

export const PROFILE_NAMES = ['production', 'ideal'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

const everything = (on: boolean): Behaviours =>
  Object.fromEntries(BEHAVIOUR_NAMES.map((name) => [name, on])) as Record<BehaviourName, boolean>;

export const PROFILES: Readonly<Record<ProfileName, Behaviours>> = {
  production: everything(true),
  ideal: everything(false),
};

export const DEFAULT_PROFILE: ProfileName = 'production';

export const behaviourOverridesSchema = z
  .object(Object.fromEntries(BEHAVIOUR_NAMES.map((name) => [name, z.boolean()])) as Record<BehaviourName, z.ZodBoolean>)
  .partial()
  .strict();

export const profileSchema = z.enum(PROFILE_NAMES);

export function resolveBehaviours(profile: ProfileName, overrides: BehaviourOverrides = {}): Behaviours {
  return { ...PROFILES[profile], ...overrides };
}

export function isBehaviourName(name: string): name is BehaviourName {
  return (BEHAVIOUR_NAMES as readonly string[]).includes(name);
}

/**
 * Behaviours kept off where the engine runs against the simulator (its test suites, `rollout dev`, `rollout demo`)
 * while the engine defect each one meets is open; each entry names it. An empty list is the goal.
 */
export const ENGINE_DEFECT_WORKAROUNDS: BehaviourOverrides = {};
