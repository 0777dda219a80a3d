/**
 * The `poolController` workflow (contract: pool-contract.ts): one per pool, sizing its MIGs from GitHub's job
 * queue. Job events arrive by signal and update the job view (pool-jobs.ts); each wake observes the pool through
 * an activity, decides (pool-decision.ts) and acts: raising a MIG's target size to scale out, and the busy-safe
 * drain of named idle runners to scale in, never a lower target size. A timer reconciles against GitHub's queued
 * jobs for the webhooks it never delivered. In mode `off` the controller records and never acts. An operator's
 * settings (mode, bounds; pool-settings.ts) apply over the fleet file's from the next decision on, and are
 * carried across continue-as-new.
 *
 * One writer per MIG: a MIG a rollout holds (its per-MIG worker runs under `migWorkflowId`) is reported `held`
 * by the observation, which asks Temporal for that id's running execution; the decision counts its VMs but never
 * targets it, and the write activities check the hold once more right before writing.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  patched,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { PoolObservation } from '../activities/contract.js';
import type { PoolMode, PoolPolicy } from '../runner-config/types.js';
import { drains, mutations, reads } from './activity-proxies.js';
import { durationMs } from './durations.js';
import {
  DEFAULT_POOL_TIMING,
  poolJobSignal,
  poolSettingsUpdate,
  poolStateQuery,
  type PoolControllerInput,
  type PoolControllerState,
  type PoolSettings,
  type PoolSettingsChange,
  type PoolSettingsAck,
} from './pool-contract.js';
import { decidePool, type PoolAction, type PoolDecision } from './pool-decision.js';
import { renderPoolDetails } from './pool-details.js';
import { PoolJobs } from './pool-jobs.js';
import { reconcileJobs } from './pool-reconcile.js';
import { boundsInForce, mergeSettings, policyInForce, settingsProblem } from './pool-settings.js';

/** What one run of the controller keeps besides the job view. */
interface ControllerRun {
  /** When each runner idle at the last observation was first seen idle; GitHub tells no idle time. */
  idleSince: Map<string, number>;
  eventsApplied: number;
  missedJobs: number;
  continuedAsNew: number;
  lastScaleOutAt?: number;
  lastScaleInAt?: number;
  /** The fleet file's policy, as the last observation read it. */
  policy?: PoolPolicy;
  /** What the operator set at run time, over {@link policy}. */
  settings: PoolSettings;
  decision?: PoolDecision;
  idle?: number;
  heldMigs: readonly string[];
  /** MIGs whose autoscaler this controller turned off, with the mode each had: handed back in mode `off`. */
  autoscalerModes: Map<string, string>;
  lastAction?: string;
  reconciledAt?: string;
  problem?: string;
}

export async function poolController(input: PoolControllerInput): Promise<void> {
  const timing = { ...DEFAULT_POOL_TIMING, ...input.timing };
  const reconcileMs = durationMs(timing.reconcileInterval, 'reconcileInterval');
  const scaleOutCooldownMs = durationMs(timing.scaleOutCooldown, 'scaleOutCooldown');
  const scaleInCooldownMs = durationMs(timing.scaleInCooldown, 'scaleInCooldown');
  const carried = input.continued;
  const jobs = new PoolJobs(carried?.jobs);
  const run: ControllerRun = {
    idleSince: new Map(Object.entries(carried?.idleSince ?? {})),
    eventsApplied: carried?.eventsApplied ?? 0,
    missedJobs: carried?.missedJobs ?? 0,
    continuedAsNew: carried?.continuedAsNew ?? 0,
    heldMigs: [],
    autoscalerModes: new Map(Object.entries(carried?.autoscalerModes ?? {})),
    settings: carried?.settings ?? {},
    ...(carried?.lastScaleOutAt === undefined ? {} : { lastScaleOutAt: carried.lastScaleOutAt }),
    ...(carried?.lastScaleInAt === undefined ? {} : { lastScaleInAt: carried.lastScaleInAt }),
  };
  /** A job event changed the job view. */
  let jobsChanged = false;
  /** The operator changed the settings: the next decision is due now, in either mode. */
  let settingsChanged = false;
  const state = (): PoolControllerState => stateOf(input.pool, jobs, run);
  setHandler(
    poolJobSignal,
    (event) => {
      run.eventsApplied += 1;
      if (jobs.apply(event) !== 'ignored') jobsChanged = true;
    },
    { description: 'A `workflow_job` delivery for this pool, from the webhook receiver.' },
  );
  setHandler(poolStateQuery, state, { description: 'The pool: mode, jobs, desired and current size, last action.' });
  setHandler(
    poolSettingsUpdate,
    (change): PoolSettingsAck => {
      run.settings = mergeSettings(run.settings, change);
      // Wakes the loop: the next decision, right away, sizes by the new settings.
      settingsChanged = true;
      log.info('pool settings changed', { pool: input.pool, change, settings: run.settings });
      const known = run.policy === undefined ? {} : { mode: modeOf(run), ...boundsInForce(run.policy, run.settings) };
      return { pool: input.pool, settings: run.settings, ...known };
    },
    {
      // Before the first observation the fleet file's policy is unknown: its rules are checked by the CLI then,
      // and its max still caps the bounds in force (pool-settings.ts).
      validator: (change: PoolSettingsChange) => {
        const problem = settingsProblem(input.pool, change, { current: run.settings, fleet: run.policy });
        // An update refused by any other error would retry the workflow task instead of answering the caller.
        if (problem !== undefined) throw ApplicationFailure.nonRetryable(problem, 'InvalidPoolSettings');
      },
      description:
        "Set the pool's mode (queue, off) and bounds (min, max) over the fleet file's, until the controller ends.",
    },
  );

  let nextReconcileAt = Date.now();
  for (;;) {
    const waitMs = Math.min(nextReconcileAt, cooldownEnd(run, scaleOutCooldownMs, scaleInCooldownMs)) - Date.now();
    // In mode off nothing acts on a job event, so it waits for the reconciliation: an observation per event would
    // spend a pool's GitHub and Compute reads on every job of a pool the MIG autoscaler sizes.
    const quietWhenOff = patched(OFF_OBSERVES_AT_RECONCILIATION_PATCH);
    const due = (): boolean => settingsChanged || (jobsChanged && (!quietWhenOff || modeOf(run) === 'queue'));
    // No timer when there is nothing to wait for: one due at once is a timer racing the next signal for nothing.
    if (!due() && waitMs > 0) await condition(due, waitMs);
    jobsChanged = false;
    settingsChanged = false;
    const reconciling = Date.now() >= nextReconcileAt;
    const trackedBefore = jobs.tracked();
    const observation = await observe(input.pool, reconciling, run);
    if (observation !== undefined) {
      if (reconciling) {
        nextReconcileAt = Date.now() + reconcileMs;
        run.reconciledAt = new Date().toISOString();
        const { missed, forgotten } = reconcileJobs(jobs, trackedBefore, observation);
        run.missedJobs += missed;
        if (missed + forgotten > 0) log.info('reconciled pool jobs', { pool: input.pool, missed, forgotten });
      }
      await decideAndAct(input.pool, jobs, run, observation, { scaleOutCooldownMs, scaleInCooldownMs });
    } else if (reconciling) {
      // A failed reading waits the interval, rather than being retried on every event.
      nextReconcileAt = Date.now() + reconcileMs;
    }
    setCurrentDetails(renderPoolDetails(state()));
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength > timing.maxHistoryEvents) {
      await condition(allHandlersFinished);
      run.continuedAsNew += 1;
      await continueAsNew<typeof poolController>({
        ...input,
        continued: {
          jobs: jobs.snapshot(),
          eventsApplied: run.eventsApplied,
          missedJobs: run.missedJobs,
          continuedAsNew: run.continuedAsNew,
          idleSince: Object.fromEntries(run.idleSince),
          ...(Object.keys(run.settings).length === 0 ? {} : { settings: run.settings }),
          ...(run.autoscalerModes.size === 0 ? {} : { autoscalerModes: Object.fromEntries(run.autoscalerModes) }),
          ...(run.lastScaleOutAt === undefined ? {} : { lastScaleOutAt: run.lastScaleOutAt }),
          ...(run.lastScaleInAt === undefined ? {} : { lastScaleInAt: run.lastScaleInAt }),
        },
      });
    }
  }
}

/** The observation, or undefined after a failure worth retrying later; a pool the fleet lacks ends the controller. */
async function observe(
  pool: string,
  withQueuedJobs: boolean,
  run: ControllerRun,
): Promise<PoolObservation | undefined> {
  try {
    const observed = await reads.observePool({ pool, withQueuedJobs });
    const observation = withIdleTimes(observed, run.idleSince);
    run.policy = observation.policy;
    run.heldMigs = observation.migs.filter((mig) => mig.held).map((mig) => mig.name);
    delete run.problem;
    return observation;
  } catch (error) {
    const cause = error instanceof ActivityFailure ? error.cause : error;
    if (cause instanceof ApplicationFailure && cause.nonRetryable) throw error;
    run.problem = `observing the pool failed: ${message(cause)}`;
    log.warn('pool observation failed', { pool, error: run.problem });
    return undefined;
  }
}

/**
 * The observation with each idle runner's idle time as the controller first saw it (the activity reports the
 * observation's time), remembering only runners idle now: the memory is bounded by the pool's size.
 */
function withIdleTimes(observation: PoolObservation, idleSince: Map<string, number>): PoolObservation {
  const seen = new Map<string, number>();
  const migs = observation.migs.map((mig) => ({
    ...mig,
    vms: mig.vms.map((vm) => {
      if (vm.runner.state !== 'idle') return vm;
      const since = idleSince.get(vm.name) ?? vm.runner.idleSince;
      seen.set(vm.name, since);
      return { ...vm, runner: { state: 'idle' as const, idleSince: since } };
    }),
  }));
  idleSince.clear();
  for (const [name, since] of seen) idleSince.set(name, since);
  return { ...observation, migs };
}

async function decideAndAct(
  pool: string,
  jobs: PoolJobs,
  run: ControllerRun,
  observation: PoolObservation,
  cooldowns: { scaleOutCooldownMs: number; scaleInCooldownMs: number },
): Promise<void> {
  const policy = policyInForce(observation.policy, run.settings);
  const now = Date.now();
  const decision = decidePool({
    // Mode off decides for the record only; the MIG autoscaler's bounds are not the pool's.
    bounds: policy.mode === 'queue' ? policy.bounds : { min: 0, max: Number.MAX_SAFE_INTEGER },
    warm: policy.mode === 'queue' ? policy.warm : 0,
    jobs: jobs.counts(),
    migs: observation.migs,
    removing: [],
    held: run.heldMigs,
    now,
    ...(run.lastScaleOutAt === undefined ? {} : { lastScaleOutAt: run.lastScaleOutAt }),
    ...(run.lastScaleInAt === undefined ? {} : { lastScaleInAt: run.lastScaleInAt }),
    ...cooldowns,
  });
  run.decision = decision;
  run.idle = observation.migs.reduce((sum, mig) => sum + mig.vms.filter((vm) => vm.runner.state === 'idle').length, 0);
  // Histories from before the handover sized autoscaled MIGs without it (a resize GCP refuses with 412).
  const handsOver = patched(AUTOSCALER_HANDOVER_PATCH);
  if (policy.mode === 'off') {
    run.lastAction = `off: would ${describe(decision.action)}`;
    if (handsOver && run.autoscalerModes.size > 0) {
      try {
        await handOverAutoscalers(observation, run, 'off');
      } catch (error) {
        const cause = error instanceof ActivityFailure ? error.cause : error;
        run.problem = `handing the autoscalers back failed: ${message(cause)}`;
        log.warn('pool autoscaler handover failed', { pool, error: run.problem });
      }
    }
    return;
  }
  try {
    if (handsOver) await handOverAutoscalers(observation, run, 'queue');
    run.lastAction = await act(observation, decision.action, run, now);
  } catch (error) {
    const cause = error instanceof ActivityFailure ? error.cause : error;
    run.problem = `${describe(decision.action)} failed: ${message(cause)}`;
    log.warn('pool action failed', { pool, error: run.problem });
  }
}

const AUTOSCALER_HANDOVER_PATCH = 'pool-autoscaler-handover';
const OFF_OBSERVES_AT_RECONCILIATION_PATCH = 'pool-off-observes-at-reconciliation';

/**
 * Who sizes each MIG: the controller, in mode queue, for a MIG no rollout holds; else the MIG's own autoscaler.
 * GCP refuses to resize an autoscaled MIG unless its autoscaler's mode is OFF, and an autoscaler left on would size
 * the MIG against the controller (an ONLY_SCALE_OUT one adds VMs for CPU load and keeps its min, undoing a
 * scale-in), so taking a MIG over turns its autoscaler off. The mode is recorded from the observation before that
 * write, so a retry after a lost answer (which reads OFF) cannot lose it. A MIG a rollout holds gets its mode back
 * at once: the controller does not size it meanwhile, and without its autoscaler nothing would replace the VMs
 * that delete themselves after their jobs.
 */
async function handOverAutoscalers(observation: PoolObservation, run: ControllerRun, mode: PoolMode): Promise<void> {
  for (const name of [...run.autoscalerModes.keys()]) {
    // A MIG gone from the pool (the fleet file changed) is no longer this controller's to write.
    if (!observation.migs.some((mig) => mig.name === name)) run.autoscalerModes.delete(name);
  }
  for (const mig of observation.migs) {
    const locator = { region: mig.region, name: mig.name };
    const recorded = run.autoscalerModes.get(mig.name);
    if (mode === 'queue' && !mig.held) {
      if (mig.autoscalerMode === undefined || mig.autoscalerMode === 'OFF') continue;
      if (recorded === undefined) run.autoscalerModes.set(mig.name, mig.autoscalerMode);
      const result = await mutations.setPoolAutoscalerMode({ mig: locator, mode: 'OFF' });
      // A rollout took the MIG meanwhile: nothing was written, so there is nothing to give back for it.
      if (result.outcome === 'held' && recorded === undefined) run.autoscalerModes.delete(mig.name);
    } else if (recorded !== undefined) {
      await mutations.setPoolAutoscalerMode({ mig: locator, mode: recorded });
      run.autoscalerModes.delete(mig.name);
    }
  }
}

async function act(observation: PoolObservation, action: PoolAction, run: ControllerRun, now: number): Promise<string> {
  const locator = (name: string): { region: string; name: string } => {
    const mig = observation.migs.find((candidate) => candidate.name === name);
    if (mig === undefined) throw new Error(`the decision names MIG ${name}, which the observation lacks`);
    return { region: mig.region, name: mig.name };
  };
  switch (action.kind) {
    case 'hold':
      return `hold: ${action.reason}`;
    case 'scale-out': {
      const done: string[] = [];
      for (const target of action.targets) {
        const result = await mutations.raisePoolMig({ mig: locator(target.mig), from: target.from, to: target.to });
        done.push(`${target.mig} ${result.outcome === 'raised' ? `${target.from} -> ${target.to}` : result.outcome}`);
      }
      run.lastScaleOutAt = now;
      return `scale out: ${done.join(', ')}`;
    }
    case 'scale-in': {
      const byMig = new Map<string, string[]>();
      for (const { mig, vm } of action.remove) byMig.set(mig, [...(byMig.get(mig) ?? []), vm]);
      const done: string[] = [];
      for (const [mig, runners] of byMig) {
        const result = await drains.removePoolRunners({ mig: locator(mig), runners });
        const busy = result.skippedBusy.length === 0 ? '' : ` (${result.skippedBusy.length} busy, kept)`;
        done.push(result.held ? `${mig} held` : `${mig} removed ${result.drained.length}${busy}`);
      }
      run.lastScaleInAt = now;
      return `scale in: ${done.join(', ')}`;
    }
  }
}

/** When a cool-down that holds the decision back ends, so the controller wakes then rather than at reconciliation. */
function cooldownEnd(run: ControllerRun, scaleOutCooldownMs: number, scaleInCooldownMs: number): number {
  const decision = run.decision;
  if (decision === undefined || decision.action.kind !== 'hold' || modeOf(run) !== 'queue') return Infinity;
  const lastOut = run.lastScaleOutAt ?? -Infinity;
  if (decision.desired > decision.current) return lastOut + scaleOutCooldownMs;
  if (decision.desired < decision.current) return Math.max(lastOut, run.lastScaleInAt ?? -Infinity) + scaleInCooldownMs;
  return Infinity;
}

function describe(action: PoolAction): string {
  switch (action.kind) {
    case 'hold':
      return `hold (${action.reason})`;
    case 'scale-out':
      return `scale out ${action.targets.map((target) => `${target.mig} ${target.from} -> ${target.to}`).join(', ')}`;
    case 'scale-in':
      return `remove ${action.remove.map((removal) => removal.vm).join(', ')}`;
  }
}

/** The mode in force; before the first observation, the one set, else `off` (the controller acts on neither yet). */
function modeOf(run: ControllerRun): PoolMode {
  return run.policy === undefined ? (run.settings.mode ?? 'off') : policyInForce(run.policy, run.settings).mode;
}

function stateOf(pool: string, jobs: PoolJobs, run: ControllerRun): PoolControllerState {
  const decision = run.decision;
  return {
    pool,
    mode: modeOf(run),
    ...boundsInForce(run.policy, run.settings),
    settings: run.settings,
    jobs: jobs.counts(),
    eventsApplied: run.eventsApplied,
    heldMigs: run.heldMigs,
    autoscalerModes: Object.fromEntries(run.autoscalerModes),
    missedJobs: run.missedJobs,
    continuedAsNew: run.continuedAsNew,
    ...(decision === undefined
      ? {}
      : { desired: decision.desired, current: decision.current, busy: decision.busy, idle: run.idle ?? 0 }),
    ...(run.lastAction === undefined ? {} : { lastAction: run.lastAction }),
    ...(run.reconciledAt === undefined ? {} : { reconciledAt: run.reconciledAt }),
    ...(run.problem === undefined ? {} : { problem: run.problem }),
  };
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
