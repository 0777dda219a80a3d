/**
 * The fleet's pending events as data: each names what happens and to which entity, and the model's parts
 * register a handler per kind. Being data rather than closures, the queue can be written to a snapshot
 * (snapshot-codec.ts) and read back into the same world.
 */
import type { JobPool, SimInstance, SimJob, SimMig, SimRunner } from './fleet-types.js';

/** An event about one life of an instance: it does nothing once the instance was recreated or deleted. */
interface InstanceEvent<Kind extends string> {
  readonly kind: Kind;
  readonly instance: SimInstance;
  readonly life: number;
}

export type FleetEvent =
  | InstanceEvent<'retryProvision'>
  | InstanceEvent<'boot'>
  | InstanceEvent<'crash'>
  | InstanceEvent<'register'>
  | InstanceEvent<'recreate'>
  | InstanceEvent<'selfDelete'>
  | {
      readonly kind: 'crashRegistered';
      readonly instance: SimInstance;
      readonly runner: SimRunner;
      readonly life: number;
    }
  | { readonly kind: 'instanceGone'; readonly instance: SimInstance }
  | { readonly kind: 'runnerStopped'; readonly runner: SimRunner; readonly wasBusy: boolean }
  | { readonly kind: 'expireRunner'; readonly runner: SimRunner }
  | { readonly kind: 'arrival'; readonly pool: JobPool; readonly chain: number }
  | { readonly kind: 'finishJob'; readonly job: SimJob; readonly runner: SimRunner }
  | { readonly kind: 'rerun'; readonly pool: JobPool; readonly of: RerunOf }
  | { readonly kind: 'reconcile'; readonly mig: SimMig }
  | { readonly kind: 'autoscale'; readonly mig: SimMig };

/** What a re-run keeps of the failed job: its run, attempt and duration. */
export type RerunOf = Pick<SimJob, 'runId' | 'attempt' | 'meanDurationMs'>;

export type FleetEventKind = FleetEvent['kind'];

/** One handler per kind; each part of the model provides those of its kinds. */
export type FleetEventHandlers<Kind extends FleetEventKind = FleetEventKind> = {
  readonly [K in Kind]: (event: Extract<FleetEvent, { kind: K }>) => void;
};
