import {
  ActivityFailure,
  ApplicationFailure,
  ParentClosePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  currentUpdateInfo,
  getExternalWorkflowHandle,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError, type SignalDefinition, type UpdateDefinition } from '@temporalio/common';
import type {
  CanaryHealth,
  CanaryObservations,
  MigSnapshot,
  PreflightProblem,
  RolloutActivities,
} from '../activities/types.js';
import type { AutoscalingBounds, Environment } from '../runner-config/types.js';
import { FailureType } from './activity-failure-types.js';
import { readOptions, waitOptions } from './activity-options.js';
import { forEachBounded } from './concurrency.js';
import { durationMs } from './durations.js';
import { migWorker } from './mig-worker.js';
import {
  migCommandSignal,
  migReleaseSignal,
  migReportSignal,
  type MigReport,
  type MigStep,
  type MigStepResult,
} from './mig-worker-contract.js';
import { addTimeline, applyControl, controlProblem, type Control } from './rollout-controls.js';
import {
  MAX_OBSERVED_CANARY_VMS,
  MIG_SETTLE_WAIT,
  ROLLOUT_FAILURE_TYPES,
  RolloutEnvironmentSearchAttribute,
  RolloutStageSearchAttribute,
  RolloutVersionSearchAttribute,
  abortSignal,
  abortUpdate,
  approveSignal,
  approveUpdate,
  migWorkflowId,
  pauseSignal,
  pauseUpdate,
  problemsToWaitOut,
  recordEscalationSignal,
  recordEscalationUpdate,
  resumeSignal,
  resumeUpdate,
  rollbackSignal,
  rollbackUpdate,
  statusQuery,
  type ApprovalStage,
  type ControlAck,
  type MigState,
  type RolloutInput,
  type RolloutPlan,
  type RolloutResult,
  type RolloutStage,
  type RolloutState,
  type RolloutTiming,
  type UnfinishedRound,
} from './rollout-contract.js';
import { renderDetails } from './rollout-details.js';
import { buildPlan, inputProblems, neededTemplates, resolveSelection, resolveTiming } from './rollout-plan.js';

const reads = proxyActivities<RolloutActivities>(readOptions);

const STABILITY_WAIT_MS = durationMs(MIG_SETTLE_WAIT, 'stability wait');
const stabilityWaits = proxyActivities<RolloutActivities>(waitOptions(STABILITY_WAIT_MS));

/** Computes the plan and every preflight problem without changing anything (`rollout start --plan`). */
export async function planRollout(input: RolloutInput): Promise<RolloutPlan> {
  return makePlan(input);
}

/**
 * A rollout of one version across the fleet: plan and preflight, test group, prod canary, soak with health gates,
 * promote, converge. Steered by the updates/signals of rollout-contract.ts; see there for the message scheme.
 */
export async function rollout(input: RolloutInput): Promise<RolloutResult> {
  const run = new RolloutRun(input);
  run.installHandlers();
  return run.execute();
}

async function makePlan(input: RolloutInput): Promise<RolloutPlan> {
  const problems = inputProblems(input);
  const fleet = await reads.loadFleet();
  const selected: Partial<Record<Environment, MigSnapshot[]>> = {};
  let missingTemplates: string[] = [];
  if (problems.length === 0) {
    const selection = resolveSelection(input);
    for (const environment of selection.environments) {
      try {
        selected[environment] = await reads.selectMigs({
          environment,
          regions: selection.regions,
          groups: selection.groups,
          types: selection.types,
        });
      } catch (error) {
        problems.push({ code: 'read-failed', message: `listing ${environment} MIGs failed: ${failureMessage(error)}` });
      }
    }
    const needed = neededTemplates(fleet, input.version, selected);
    problems.push(...needed.problems);
    if (needed.names.length > 0) {
      try {
        missingTemplates = await reads.missingTemplates(needed.names);
      } catch (error) {
        problems.push({ code: 'read-failed', message: `checking templates failed: ${failureMessage(error)}` });
      }
    }
  }
  return buildPlan({ input, fleet, selected, missingTemplates, earlierProblems: problems });
}

function failureMessage(error: unknown): string {
  const cause = error instanceof ActivityFailure && error.cause !== undefined ? error.cause : error;
  return cause instanceof Error ? cause.message : String(cause);
}

const PROCESSED_UPDATE_IDS_LIMIT = 500;

/**
 * Rollouts started before fan-outs stopped part-way for continue-as-new replay without it: their histories ran
 * every fan-out to the end.
 */
const BOUNDED_FAN_OUT_PATCH = 'bounded-fan-out';

/**
 * Runs that began after the soak's end, continued as new when its last wait ended, promoted without the round due
 * at the end; their histories replay without it.
 */
const SOAK_LAST_ROUND_PATCH = 'soak-last-round';

class RolloutRun {
  private readonly inputTiming: RolloutTiming;
  private readonly state: RolloutState;
  private readonly processedUpdateIds: string[];
  private claimedMigWorkers: string[];
  /** What health checks saw of each MIG's canary VMs, passed back to the next check of that MIG. */
  private readonly observations: Map<string, CanaryObservations>;
  private readonly reports = new Map<string, MigReport & { kind: 'result' }>();
  private outstandingCommands = 0;
  private commandSeq = 0;
  private readonly searchAttributesEnabled: boolean;
  private readonly boundedFanOut: boolean;
  private unfinishedRound: UnfinishedRound | undefined;

  constructor(private readonly input: RolloutInput) {
    this.inputTiming = resolveTiming(input);
    const info = workflowInfo();
    this.searchAttributesEnabled = info.typedSearchAttributes.get(RolloutVersionSearchAttribute) !== undefined;
    const carried = input.continued;
    this.processedUpdateIds = [...(carried?.processedUpdateIds ?? [])];
    this.claimedMigWorkers = [...(carried?.claimedMigWorkers ?? [])];
    this.observations = new Map(Object.entries(carried?.canaryObservations ?? {}));
    this.unfinishedRound = carried?.unfinishedRound;
    this.boundedFanOut = patched(BOUNDED_FAN_OUT_PATCH);
    this.state = carried?.state ?? {
      workflowId: info.workflowId,
      version: input.version,
      requestedBy: input.requestedBy,
      startedAt: now(),
      stage: 'preflight',
      migs: [],
      counts: { instancesOld: 0, instancesNew: 0, runnersOld: 0, runnersNew: 0 },
      approvals: [],
      timeline: [],
      timelineDropped: 0,
      problems: [],
      escalations: [],
      evidence: [],
      stageTimings: [{ stage: 'preflight', startedAt: now() }],
      continuedAsNew: 0,
    };
  }

  installHandlers(): void {
    setHandler(statusQuery, () => this.state, {
      description: 'Full rollout state: stage, per-MIG progress, pending gate, approvals, timeline.',
    });
    this.registerControl(
      approveUpdate,
      approveSignal,
      (request) => ({ kind: 'approve', request }),
      'Approve the pending gate: {"stage":"test"|"promote","identity":"you","reason":"why"}.',
    );
    this.registerControl(
      pauseUpdate,
      pauseSignal,
      (request) => ({ kind: 'pause', request }),
      'Pause: no new change starts until resumed; health checks continue. {"identity","reason"}.',
    );
    this.registerControl(
      resumeUpdate,
      resumeSignal,
      (request) => ({ kind: 'resume', request }),
      'Resume a paused rollout (also retries a failed step). {"identity","reason"}.',
    );
    this.registerControl(
      abortUpdate,
      abortSignal,
      (request) => ({ kind: 'abort', request }),
      'Abort: roll back whatever is in canary and stop. {"identity","reason"} (reason required).',
    );
    this.registerControl(
      rollbackUpdate,
      rollbackSignal,
      (request) => ({ kind: 'rollback', request }),
      'Roll back every canary (before promotion) and end as rolled-back. {"identity","reason"}.',
    );
    this.registerControl(
      recordEscalationUpdate,
      recordEscalationSignal,
      (request) => ({ kind: 'escalation', request }),
      'Record an escalation: {"source","severity":"info"|"warning"|"critical","message"}.',
    );
    setHandler(
      migReportSignal,
      (report) => {
        if (report.kind === 'result') this.reports.set(report.commandId, report);
      },
      { description: 'Internal: outcome of a command sent to a per-MIG worker.' },
    );
  }

  /** The update validates and answers; the signal of the same control applies it or logs why it was ignored. */
  private registerControl<Request>(
    update: UpdateDefinition<ControlAck, [Request]>,
    signal: SignalDefinition<[Request]>,
    toControl: (request: Request) => Control,
    description: string,
  ): void {
    const alreadyApplied = (): boolean => {
      const updateId = currentUpdateInfo()?.id;
      return updateId !== undefined && this.processedUpdateIds.includes(updateId);
    };
    setHandler(
      update,
      (request) => {
        if (alreadyApplied()) return this.ack('already applied');
        const updateId = currentUpdateInfo()?.id;
        if (updateId !== undefined) this.rememberUpdate(updateId);
        return this.ack(this.apply(toControl(request), updateId));
      },
      {
        description,
        validator: (request: Request) => {
          if (alreadyApplied()) return;
          const problem = controlProblem(this.state, toControl(request));
          // A plain Error would fail the workflow task instead of rejecting the update.
          if (problem !== undefined) throw ApplicationFailure.nonRetryable(problem, 'InvalidControl');
        },
      },
    );
    setHandler(
      signal,
      (request) => {
        const control = toControl(request);
        const problem = controlProblem(this.state, control);
        if (problem === undefined) {
          this.apply(control);
          return;
        }
        log.warn('ignored invalid signal', { signal: signal.name, problem });
        addTimeline(this.state, { at: now(), kind: 'ignored-signal', message: `${signal.name} ignored: ${problem}` });
        this.refreshDetails();
      },
      { description: `Signal form of the "${update.name}" update. ${description}` },
    );
  }

  private apply(control: Control, updateId?: string): string {
    const message = applyControl(this.state, control, now(), updateId);
    log.info('control applied', { kind: control.kind, message });
    this.refreshDetails();
    return message;
  }

  private ack(message: string): ControlAck {
    return { stage: this.state.stage, paused: this.state.pause !== undefined, message };
  }

  private rememberUpdate(updateId: string): void {
    this.processedUpdateIds.push(updateId);
    if (this.processedUpdateIds.length > PROCESSED_UPDATE_IDS_LIMIT) this.processedUpdateIds.shift();
  }

  /** The plan's intervals, which include the worker's defaults; plans of older runs have none. */
  private get timing(): RolloutTiming {
    return this.state.plan?.timing ?? this.inputTiming;
  }

  private get stopping(): boolean {
    return this.state.stop !== undefined;
  }

  async execute(): Promise<RolloutResult> {
    if (this.state.stage === 'preflight') await this.preflight();
    this.refreshDetails();
    for (;;) {
      if (this.stopping) return this.stopAndRollBack();
      switch (this.state.stage) {
        case 'failed-preflight':
          // A run that continued as new while releasing the MIGs of a failed preflight.
          await this.releaseMigWorkers();
          throw preflightFailure(this.state.problems);
        case 'test':
          await this.testStage();
          break;
        case 'canary':
          await this.canaryStage();
          break;
        case 'soak':
          await this.soakStage();
          break;
        case 'promote':
          await this.promoteStage();
          break;
        case 'converge':
          await this.convergeStage();
          break;
        default:
          if (this.stopping) return this.stopAndRollBack();
          return this.finish('completed');
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Preflight

  private async preflight(): Promise<void> {
    if (this.state.plan === undefined) await this.planAndSettle();
    const plan = this.plan();
    // Claims are checked even when the plan has problems, so the operator sees every problem at once.
    await this.claimMigWorkers(plan);
    const problems = [...plan.problems, ...this.state.problems];
    if (problems.length > 0) {
      this.state.problems = problems;
      if (this.boundedFanOut) {
        // The stage first: releasing a thousand workers may continue as new, and the next run must not claim again.
        this.enterStage('failed-preflight');
        await this.releaseMigWorkers();
      } else {
        await this.releaseMigWorkers();
        this.enterStage('failed-preflight');
      }
      throw preflightFailure(problems);
    }
    const next = plan.stages[1];
    this.enterStage(next === undefined || next === 'done' ? 'done' : next);
  }

  private async planAndSettle(): Promise<void> {
    if (this.searchAttributesEnabled) {
      upsertSearchAttributes([
        { key: RolloutVersionSearchAttribute, value: this.input.version },
        { key: RolloutEnvironmentSearchAttribute, value: [...resolveSelection(this.input).environments] },
        { key: RolloutStageSearchAttribute, value: 'preflight' },
      ]);
    }
    const plan = await makePlan(this.input);
    this.state.plan = plan;
    this.state.migs = plan.migs.map((planned) => ({
      ...planned,
      phase: planned.fromTemplate === planned.toTemplate ? 'current' : 'planned',
      instancesOld: sumExcept(planned.instancesByTemplate, planned.toTemplate),
      instancesNew: planned.instancesByTemplate[planned.toTemplate] ?? 0,
      drainedRunners: 0,
    }));
    addTimeline(this.state, {
      at: now(),
      kind: 'planned',
      identity: this.input.requestedBy,
      message: `${plan.migs.length} MIGs, stages ${plan.stages.join(' -> ')}, soak ${plan.soak}`,
    });
    this.refreshDetails();
    const settled = await this.settleUnstableMigs(plan.problems);
    if (settled.length !== plan.problems.length) this.state.plan = { ...plan, problems: settled };
  }

  /**
   * Waits for each MIG caught mid-change to settle (stable, version target reached) when instability is all that
   * stands in the way ({@link problemsToWaitOut}), and returns the problems left.
   */
  private async settleUnstableMigs(problems: readonly PreflightProblem[]): Promise<PreflightProblem[]> {
    const unstable = problemsToWaitOut(problems);
    if (unstable.length === 0) return [...problems];
    const remaining: PreflightProblem[] = [];
    await forEachBounded(unstable, this.timing.maxConcurrency, async (problem) => {
      const mig = this.state.migs.find((candidate) => candidate.name === problem.mig);
      if (mig === undefined) {
        remaining.push(problem);
        return;
      }
      try {
        await stabilityWaits.waitForMigStable(
          { region: mig.region, name: mig.name },
          { timeoutMinutes: STABILITY_WAIT_MS / 60_000 },
        );
      } catch (error) {
        remaining.push({
          ...problem,
          message: `${problem.message} (waited ${MIG_SETTLE_WAIT}: ${failureMessage(error)})`,
        });
      }
    });
    if (remaining.length < unstable.length) {
      addTimeline(this.state, {
        at: now(),
        kind: 'settled',
        message: `${unstable.length - remaining.length} MIG(s) settled after being caught mid-change`,
      });
    }
    return remaining;
  }

  /**
   * Starts one worker per MIG; a worker id already running means another rollout owns that MIG, recorded as a
   * problem. Resumes where an earlier run stopped: MIGs already claimed or found owned are not tried again.
   */
  private async claimMigWorkers(plan: RolloutPlan): Promise<void> {
    const claimed = new Set(this.claimedMigWorkers);
    const owned = new Set(this.state.problems.map((problem) => problem.mig));
    const unclaimed = this.state.migs.filter(
      (mig) => !claimed.has(migWorkflowId(plan.project, mig.name)) && !owned.has(mig.name),
    );
    const deferred = await this.fanOut(unclaimed, async (mig) => {
      const workflowId = migWorkflowId(plan.project, mig.name);
      try {
        await startChild(migWorker, {
          workflowId,
          // The worker must outlive this run when the rollout continues as new; it ends on release, or by
          // itself once it notices the rollout is gone.
          parentClosePolicy: ParentClosePolicy.ABANDON,
          staticSummary: `${mig.role} ${mig.name} -> ${mig.toTemplate} (rollout ${plan.version})`,
          staticDetails: `Rollout \`${workflowInfo().workflowId}\` owns MIG \`${mig.name}\` (${mig.region}).\n\nPlanned change: ${mig.patch}`,
          args: [
            {
              rolloutWorkflowId: workflowInfo().workflowId,
              migName: mig.name,
              mig: { region: mig.region, name: mig.name },
              livenessInterval: this.timing.migWorkerLivenessInterval,
              maxHistoryEvents: this.timing.maxHistoryEvents,
            },
          ],
        });
        this.claimedMigWorkers.push(workflowId);
      } catch (error) {
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
        this.state.problems.push({
          mig: mig.name,
          code: 'mig-in-another-rollout',
          message: `MIG ${mig.name} is being changed by another rollout (worker ${workflowId} is running)`,
        });
      }
    });
    if (deferred.length > 0) await this.continueAsNewNow();
  }

  private async releaseMigWorkers(): Promise<void> {
    const deferred = await this.fanOut([...this.claimedMigWorkers], async (workflowId) => {
      try {
        await getExternalWorkflowHandle(workflowId).signal(migReleaseSignal);
      } catch (error) {
        log.warn('MIG worker already gone', { workflowId, error: String(error) });
      }
      this.claimedMigWorkers = this.claimedMigWorkers.filter((claimed) => claimed !== workflowId);
    });
    if (deferred.length > 0) await this.continueAsNewNow();
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Stages

  private async testStage(): Promise<void> {
    const plan = this.plan();
    const testing = this.migs('testing');
    const updated = await this.operate(
      testing.filter((mig) => mig.phase === 'planned'),
      'test update',
      (mig) => [
        ...(mig.previousAutoscaling === undefined ? [{ kind: 'get-autoscaling' } as const] : []),
        // Update before raising the bounds: VMs the autoscaler creates in between would boot on the old template.
        { kind: 'direct-update', template: mig.toTemplate },
        { kind: 'set-autoscaling', bounds: plan.testAutoscaling },
      ],
    );
    if (!updated) return;
    if (!(await this.verify(testing.filter((mig) => mig.phase === 'updated')))) return;
    await this.gate('test', 'test approval: runners on the new version are online in the testing group');
    if (this.stopping) return;
    const restored = await this.operate(
      testing.filter((mig) => mig.phase === 'updated'),
      'restore testing',
      (mig) => [
        {
          kind: 'set-autoscaling',
          bounds: mig.previousAutoscaling ?? this.fleetAutoscaling(),
        },
        { kind: 'drain' },
      ],
      (mig) => {
        mig.phase = 'restored';
      },
    );
    if (restored) this.enterStage(plan.environments.includes('prod') ? 'canary' : 'done');
  }

  private async canaryStage(): Promise<void> {
    const plan = this.plan();
    const canaried = await this.operate(
      [...this.migs('canary'), ...this.migs('direct-first')].filter((mig) => mig.phase === 'planned'),
      'canary',
      (mig) =>
        mig.role === 'canary'
          ? [{ kind: 'canary', template: mig.toTemplate, canarySize: plan.canarySize }]
          : [{ kind: 'direct-update', template: mig.toTemplate }],
    );
    if (!canaried) return;
    if (!(await this.verify(this.canaried()))) return;
    this.enterStage('soak');
  }

  private async soakStage(): Promise<void> {
    const plan = this.plan();
    if (this.state.soak === undefined) {
      const startedAt = Date.now();
      this.state.soak = {
        startedAt: new Date(startedAt).toISOString(),
        endsAt: new Date(startedAt + durationMs(plan.soak, 'soak')).toISOString(),
        duration: plan.soak,
        ...(plan.plannedSoakReason === undefined ? {} : { reason: plan.plannedSoakReason }),
      };
      this.refreshDetails();
    }
    const endsAt = Date.parse(this.state.soak.endsAt);
    const interval = durationMs(this.timing.healthCheckInterval, 'healthCheckInterval');
    while (!this.stopping && this.soakRoundLeft(this.state.soak)) {
      if (this.unfinishedRound?.kind !== 'health') {
        // From the latest round, not from now: a continue-as-new during the wait must not restart it.
        const lastCheckAt = this.state.soak.lastCheckAt ?? this.state.soak.startedAt;
        const wait = Math.min(Date.parse(lastCheckAt) + interval, endsAt) - Date.now();
        if (wait > 0) await condition(() => this.stopping || this.shouldContinueAsNew(), wait);
        if (this.stopping) return;
        await this.continueAsNewIfDue();
        this.state.soak.lastCheckAt = now();
      }
      await this.checkHealth();
    }
    if (!this.stopping) this.enterStage('promote');
  }

  /**
   * Whether the soak has a round of health checks to run: one cut short by a continue-as-new (finished first, even
   * when the soak's end came meanwhile), or the round due at the soak's end. That one counts as done only once it
   * has started, not once the end has passed: a run continued as new just as the last wait ended still owes it.
   */
  private soakRoundLeft(soak: NonNullable<RolloutState['soak']>): boolean {
    if (this.unfinishedRound?.kind === 'health') return true;
    const endsAt = Date.parse(soak.endsAt);
    if (Date.parse(soak.lastCheckAt ?? soak.startedAt) >= endsAt) return false;
    return Date.now() < endsAt || patched(SOAK_LAST_ROUND_PATCH);
  }

  private async promoteStage(): Promise<void> {
    const auto = this.input.autoApprove === true || this.input.autoPromote === true;
    await this.gate(
      'promote',
      `promote approval: the soak of ${this.plan().soak} passed its health gates`,
      auto ? 'autoPromote' : undefined,
    );
    if (this.stopping) return;
    const promoted = await this.operate(
      [...this.migs('canary'), ...this.migs('direct-rest')].filter(
        (mig) => mig.phase === 'canary' || (mig.role === 'direct-rest' && mig.phase === 'planned'),
      ),
      'promote',
      (mig) =>
        mig.role === 'canary'
          ? [{ kind: 'promote', template: mig.toTemplate }]
          : [{ kind: 'direct-update', template: mig.toTemplate }],
    );
    if (promoted) this.enterStage('converge');
  }

  private async convergeStage(): Promise<void> {
    const interval = durationMs(this.timing.convergeInterval, 'convergeInterval');
    for (;;) {
      const pending = this.state.migs.filter(
        (mig) => mig.role !== 'testing' && mig.phase !== 'converged' && mig.phase !== 'rolled-back',
      );
      // A run that stopped part-way through the drains resumes them; the convergence reads of that round are done.
      const resumingDrains = this.unfinishedRound?.kind === 'drain';
      const read = resumingDrains ? [] : this.takeRound('convergence', pending);
      const unread = await this.fanOut(read, async (mig) => {
        try {
          const progress = await reads.convergence({
            mig: { region: mig.region, name: mig.name },
            targetTemplate: mig.toTemplate,
          });
          mig.instancesNew = progress.instancesOnTarget;
          mig.instancesOld = progress.instancesTotal - progress.instancesOnTarget;
          mig.runnersNew = progress.runnersOnTarget;
          mig.runnersOld = progress.runnersOld;
          if (progress.versionTargetReached && mig.instancesOld === 0 && progress.runnersOld === 0) {
            mig.phase = 'converged';
            addTimeline(this.state, {
              at: now(),
              kind: 'converged',
              mig: mig.name,
              message: 'every instance on the new template',
            });
          }
        } catch (error) {
          mig.problem = `convergence check failed: ${failureMessage(error)}`;
        }
      });
      if (unread.length > 0) await this.continueAsNewNow({ kind: 'convergence', migs: unread.map((mig) => mig.name) });
      const remaining = pending.filter((mig) => mig.phase !== 'converged');
      this.refreshDetails();
      if (remaining.length === 0) break;
      if (this.state.pause === undefined) {
        await this.operate(
          this.takeRound('drain', remaining),
          'drain old idle runners',
          (mig) => [{ kind: 'drain', keepTemplate: mig.toTemplate }],
          undefined,
          { round: 'drain' },
        );
      } else if (resumingDrains) {
        // Paused: the drains are skipped this round, as they would have been without the continue-as-new.
        this.unfinishedRound = undefined;
      }
      if (this.stopping) return;
      await condition(() => this.stopping || this.shouldContinueAsNew(), interval);
      if (this.stopping) return;
      await this.continueAsNewIfDue();
    }
    this.enterStage('done');
  }

  /** Rolls back whatever carries the new version without being promoted, then ends the rollout. */
  private async stopAndRollBack(): Promise<RolloutResult> {
    const stop = this.state.stop!;
    this.state.gate = undefined;
    const fleetBounds = this.fleetAutoscaling();
    const targets = this.state.migs.filter((mig) =>
      mig.role === 'canary'
        ? mig.phase === 'canary'
        : (mig.role === 'testing' || mig.role === 'direct-first') && mig.phase === 'updated',
    );
    addTimeline(this.state, {
      at: now(),
      kind: 'rolling-back',
      message:
        targets.length === 0 ? 'nothing to roll back' : `rolling back ${targets.map((mig) => mig.name).join(', ')}`,
    });
    // Taking the canary version away, or updating back, replaces no VM by itself: idle VMs still on the new
    // template are drained so the MIG recreates them on the old one; busy ones leave after their job.
    await this.operate(
      targets,
      'rollback',
      (mig): MigStep[] =>
        mig.role === 'canary'
          ? [
              { kind: 'rollback-canary', canaryTemplate: mig.toTemplate },
              { kind: 'drain', keepTemplate: mig.fromTemplate },
            ]
          : mig.role === 'testing'
            ? [
                { kind: 'direct-update', template: mig.fromTemplate },
                { kind: 'set-autoscaling', bounds: mig.previousAutoscaling ?? fleetBounds },
                { kind: 'drain' },
              ]
            : [
                { kind: 'direct-update', template: mig.fromTemplate },
                { kind: 'drain', keepTemplate: mig.fromTemplate },
              ],
      (mig) => {
        mig.phase = 'rolled-back';
      },
      { evenWhenStopping: true },
    );
    return this.finish(stop.kind === 'abort' ? 'aborted' : 'rolled-back');
  }

  private async finish(outcome: RolloutResult['outcome']): Promise<RolloutResult> {
    await this.releaseMigWorkers();
    const finalStage = outcome === 'completed' ? 'done' : outcome;
    if (this.state.stage !== finalStage) this.enterStage(finalStage);
    const migs = this.state.migs;
    const count = (predicate: (mig: MigState) => boolean): number => migs.filter(predicate).length;
    return {
      workflowId: this.state.workflowId,
      version: this.state.version,
      outcome,
      startedAt: this.state.startedAt,
      finishedAt: now(),
      stageTimings: this.state.stageTimings,
      migs,
      approvals: this.state.approvals,
      counts: {
        migs: migs.length,
        canaried: count((mig) => mig.role === 'canary' && mig.updatedAt !== undefined),
        promoted: count((mig) => mig.role === 'canary' && (mig.phase === 'promoted' || mig.phase === 'converged')),
        directUpdated: count(
          (mig) => mig.role.startsWith('direct') && (mig.phase === 'updated' || mig.phase === 'converged'),
        ),
        rolledBack: count((mig) => mig.phase === 'rolled-back'),
        converged: count((mig) => mig.phase === 'converged'),
        runnersDrained: migs.reduce((sum, mig) => sum + mig.drainedRunners, 0),
        instancesNew: this.state.counts.instancesNew,
        instancesOld: this.state.counts.instancesOld,
      },
      evidence: this.state.evidence,
      escalations: this.state.escalations,
    };
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Gates and health

  /**
   * Waits until `stage` is approved (or the rollout stops). Never times out: a reminder is recorded at each
   * reminder interval. `auto` approves at once, recorded as such.
   */
  private async gate(stage: ApprovalStage, waitsFor: string, auto?: string): Promise<void> {
    const approved = (): boolean => this.state.approvals.some((approval) => approval.stage === stage);
    if (approved() || this.stopping) return;
    if (this.input.autoApprove === true || auto !== undefined) {
      applyControl(
        this.state,
        {
          kind: 'approve',
          request: {
            stage,
            identity: 'auto-approve',
            reason: `${auto ?? 'autoApprove'} set by ${this.input.requestedBy}`,
          },
        },
        now(),
      );
      this.refreshDetails();
      return;
    }
    const kind = stage === 'test' ? 'test-approval' : 'promote-approval';
    if (this.state.gate?.kind !== kind) {
      this.state.gate = { kind, since: now(), waitsFor };
      addTimeline(this.state, { at: now(), kind: 'gate-opened', message: `waiting for ${waitsFor}` });
      log.info('approval gate opened', { stage, waitsFor });
      this.refreshDetails();
    }
    const reminderMs = durationMs(this.timing.approvalReminderInterval, 'approvalReminderInterval');
    let reminderDue = Date.now() + reminderMs;
    while (!approved() && !this.stopping) {
      const wait = Math.max(1, reminderDue - Date.now());
      await condition(() => approved() || this.stopping || this.shouldContinueAsNew(), wait);
      if (approved() || this.stopping) break;
      await this.continueAsNewIfDue();
      if (Date.now() >= reminderDue) {
        const since = this.state.gate?.since ?? now();
        addTimeline(this.state, {
          at: now(),
          kind: 'reminder',
          message: `still waiting since ${since} for ${waitsFor}`,
        });
        log.warn('approval still pending', { stage, since });
        reminderDue = Date.now() + reminderMs;
        this.refreshDetails();
      }
    }
    this.state.gate = undefined;
    this.refreshDetails();
  }

  /**
   * Waits for runners on the new template of every MIG; a MIG whose runners do not come up in time fails the
   * health gate (with the activity's and the health check's evidence), which stops the rollout.
   */
  private async verify(migs: MigState[]): Promise<boolean> {
    const plan = this.plan();
    const failed: string[] = [];
    const unverified = await this.fanOut(migs, async (mig) => {
      if (mig.verifiedAt !== undefined) return;
      const count =
        mig.role === 'testing'
          ? Math.max(1, plan.testAutoscaling.min)
          : Math.min(mig.role === 'canary' ? plan.canarySize : 1, mig.targetSize);
      if (count === 0) {
        mig.verifiedAt = now();
        addTimeline(this.state, { at: now(), kind: 'verified', mig: mig.name, message: 'no instances to verify' });
        return;
      }
      const report = await this.command(mig, [
        { kind: 'wait-runners', template: mig.toTemplate, count, timeout: this.timing.runnersReadyTimeout },
      ]);
      const runners = report.results[0];
      if (report.failure === undefined && runners?.kind === 'runners') {
        mig.verifiedAt = now();
        mig.runnersNew = runners.online;
        return;
      }
      // The wait gives up early, with its own evidence, when the new template's VMs keep crashing (BOOT_LOOP).
      const evidence = [
        report.failure?.type === FailureType.BOOT_LOOP
          ? `${mig.name}: ${report.failure.message}`
          : `${mig.name}: runners on ${mig.toTemplate} not online within ${this.timing.runnersReadyTimeout}: ${report.failure?.message ?? 'no result'}`,
      ];
      try {
        const health = await this.canaryHealth(mig);
        evidence.push(...health.problems.map((problem) => `${mig.name}: ${problem}`));
      } catch (error) {
        evidence.push(`${mig.name}: health evidence unavailable: ${failureMessage(error)}`);
      }
      failed.push(...evidence);
    });
    if (failed.length > 0) {
      this.failHealthGate(failed);
      return false;
    }
    // The MIGs left are verified by the next run, which re-enters the stage.
    if (unverified.length > 0) await this.continueAsNewNow();
    return true;
  }

  private async checkHealth(): Promise<void> {
    const evidence: string[] = [];
    const unchecked = await this.fanOut(this.takeRound('health', this.canaried()), async (mig) => {
      try {
        const health = await this.canaryHealth(mig);
        const consecutiveFailures = health.healthy ? 0 : (mig.health?.consecutiveFailures ?? 0) + 1;
        mig.health = { healthy: health.healthy, problems: [...health.problems], checkedAt: now(), consecutiveFailures };
        mig.runnersNew = health.canaryRunnersOnline;
        if (!health.healthy) {
          addTimeline(this.state, {
            at: now(),
            kind: 'unhealthy',
            mig: mig.name,
            message: `${consecutiveFailures}/${this.timing.unhealthyChecksToRollBack}: ${health.problems.join('; ')}`,
          });
        }
        if (consecutiveFailures >= this.timing.unhealthyChecksToRollBack) {
          evidence.push(...health.problems.map((problem) => `${mig.name}: ${problem}`));
        }
      } catch (error) {
        // A health check that cannot run is not evidence against the canary; it is visible, and retried next time.
        mig.problem = `health check failed: ${failureMessage(error)}`;
      }
    });
    this.refreshDetails();
    if (evidence.length > 0) {
      this.failHealthGate(evidence);
      return;
    }
    if (unchecked.length > 0) await this.continueAsNewNow({ kind: 'health', migs: unchecked.map((mig) => mig.name) });
  }

  /**
   * One health check of the new template on `mig`. Activities keep no state and canary VMs delete themselves
   * after each job, so what earlier checks saw goes back in as `previous`: without it the jobs of VMs already gone
   * would count as the base's, and a boot loop would show only while a VM happens to be recreated.
   */
  private async canaryHealth(mig: MigState): Promise<CanaryHealth> {
    const previous = this.observations.get(mig.name);
    const health = await reads.canaryHealth({
      mig: { region: mig.region, name: mig.name },
      canaryTemplate: mig.toTemplate,
      since: mig.updatedAt ?? this.state.startedAt,
      ...(previous === undefined ? {} : { previous }),
    });
    if (health.observations !== undefined) {
      this.observations.set(mig.name, { vms: health.observations.vms.slice(-MAX_OBSERVED_CANARY_VMS) });
    }
    return health;
  }

  private failHealthGate(evidence: string[]): void {
    this.state.evidence.push(...evidence);
    // Rolling back an unhealthy canary is protective, so it happens even while paused.
    this.state.pause = undefined;
    this.state.stop = {
      kind: 'health-gate',
      identity: 'health-gate',
      reason: `health gate failed: ${evidence.join('; ')}`,
      at: now(),
    };
    addTimeline(this.state, { at: now(), kind: 'health-gate-failed', message: evidence.join('; ') });
    log.warn('health gate failed; rolling back', { evidence });
    this.refreshDetails();
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Per-MIG commands

  /**
   * Runs `steps` on every MIG through its worker, a bounded number at once. A failed MIG pauses the rollout with
   * the failure as reason; resuming retries the failed MIGs. Returns false when the rollout stopped instead
   * (unless `evenWhenStopping`, used by the rollback itself).
   */
  private async operate(
    migs: MigState[],
    label: string,
    steps: (mig: MigState) => MigStep[],
    done?: (mig: MigState) => void,
    options: { evenWhenStopping?: boolean; round?: UnfinishedRound['kind'] } = {},
  ): Promise<boolean> {
    const interrupted = (): boolean => options.evenWhenStopping !== true && this.stopping;
    let todo = migs;
    while (todo.length > 0) {
      const failed: MigState[] = [];
      const deferred = await this.fanOut(todo, async (mig) => {
        // A long pause must not grow the history either (MIG workers report in while it lasts).
        await condition(() => this.state.pause === undefined || interrupted() || this.historyFull());
        if (interrupted()) return;
        if (this.historyFull()) return false;
        const planned = steps(mig);
        const report = await this.command(mig, planned);
        report.results.forEach((result, index) => {
          const step = planned[index];
          if (step !== undefined) this.recordStep(mig, step, result);
        });
        if (report.failure === undefined) {
          mig.problem = undefined;
          done?.(mig);
        } else {
          mig.problem = `${label} failed at ${report.failure.step}: ${report.failure.message}`;
          failed.push(mig);
        }
        this.refreshDetails();
      });
      if (interrupted()) return false;
      if (failed.length > 0) {
        const reason = `${label} failed on ${failed.map((mig) => `${mig.name} (${mig.problem})`).join(', ')}; resume to retry`;
        this.state.pause = { identity: 'rollout', reason, at: now() };
        addTimeline(this.state, { at: now(), kind: 'paused', identity: 'rollout', message: reason });
        log.warn('step failed; rollout paused', { label, failed: failed.map((mig) => mig.name) });
        this.refreshDetails();
      }
      if (deferred.length > 0) {
        // Stage operations resume from each MIG's phase; a repeated round needs its MIGs carried.
        const left = [...failed, ...deferred].map((mig) => mig.name);
        await this.continueAsNewNow(options.round === undefined ? undefined : { kind: options.round, migs: left });
      }
      if (failed.length === 0) return true;
      await condition(() => this.state.pause === undefined || interrupted());
      if (interrupted()) return false;
      todo = failed;
    }
    return true;
  }

  private recordStep(mig: MigState, step: MigStep, result: MigStepResult): void {
    switch (step.kind) {
      case 'get-autoscaling':
        if (result.kind === 'autoscaling') mig.previousAutoscaling ??= result.bounds;
        break;
      case 'canary':
        mig.phase = 'canary';
        mig.updatedAt = now();
        break;
      case 'direct-update':
        if (step.template === mig.toTemplate) {
          mig.phase = 'updated';
          mig.updatedAt = now();
        }
        break;
      case 'promote':
        mig.phase = 'promoted';
        break;
      case 'rollback-canary':
        mig.phase = 'rolled-back';
        break;
      case 'drain':
        if (result.kind === 'drain') mig.drainedRunners += result.drained.length + result.removedStuck.length;
        break;
      case 'set-autoscaling':
      case 'wait-runners':
        break;
    }
  }

  private async command(mig: MigState, steps: MigStep[]): Promise<MigReport & { kind: 'result' }> {
    const id = `${this.state.continuedAsNew}-${++this.commandSeq}`;
    this.outstandingCommands += 1;
    try {
      await getExternalWorkflowHandle(migWorkflowId(this.plan().project, mig.name)).signal(migCommandSignal, {
        id,
        steps,
      });
      await condition(() => this.reports.has(id));
      const report = this.reports.get(id)!;
      this.reports.delete(id);
      return report;
    } catch (error) {
      return {
        kind: 'result',
        migName: mig.name,
        commandId: id,
        results: [],
        failure: { step: steps[0]?.kind ?? 'drain', message: `MIG worker unreachable: ${failureMessage(error)}` },
      };
    } finally {
      this.outstandingCommands -= 1;
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Bookkeeping

  private historyLong(): boolean {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength > this.timing.maxHistoryEvents;
  }

  private shouldContinueAsNew(): boolean {
    return this.outstandingCommands === 0 && this.historyLong();
  }

  /** Whether a fan-out should start no further MIG, so the run can continue as new. */
  private historyFull(): boolean {
    return this.boundedFanOut && this.historyLong();
  }

  /**
   * Runs `fn` over `items`, a bounded number at once, like forEachBounded, but starts no further item once the
   * history is long: one pass over a thousand MIGs costs several thousand events. Returns the items not run (also
   * those `fn` declined by returning false); the caller continues as new and the next run takes them up.
   */
  private async fanOut<T>(items: readonly T[], fn: (item: T) => Promise<boolean | void>): Promise<T[]> {
    const deferred: T[] = [];
    await forEachBounded(items, this.timing.maxConcurrency, async (item) => {
      if (this.historyFull() || (await fn(item)) === false) deferred.push(item);
    });
    return deferred;
  }

  /** The MIGs of a round of `kind`: those an earlier run had not reached, if it stopped part-way through one. */
  private takeRound(kind: UnfinishedRound['kind'], migs: MigState[]): MigState[] {
    const unfinished = this.unfinishedRound;
    if (unfinished?.kind !== kind) return migs;
    this.unfinishedRound = undefined;
    const left = new Set(unfinished.migs);
    return migs.filter((mig) => left.has(mig.name));
  }

  /** Continues as new with the whole state once history is long; only at points with no command in flight. */
  private async continueAsNewIfDue(): Promise<void> {
    if (!this.shouldContinueAsNew()) return;
    await this.continueAsNewNow();
  }

  /** Continues as new now (once no command is in flight), with `round` to finish first if one was cut short. */
  private async continueAsNewNow(round?: UnfinishedRound): Promise<never> {
    await condition(() => this.outstandingCommands === 0 && allHandlersFinished());
    this.state.continuedAsNew += 1;
    addTimeline(this.state, {
      at: now(),
      kind: 'continued-as-new',
      message: `history reached ${workflowInfo().historyLength} events`,
    });
    return continueAsNew<typeof rollout>({
      ...this.input,
      continued: {
        state: this.state,
        processedUpdateIds: this.processedUpdateIds,
        claimedMigWorkers: this.claimedMigWorkers,
        canaryObservations: this.carriedObservations(),
        ...(round === undefined ? {} : { unfinishedRound: round }),
      },
    });
  }

  /** Observations of MIGs still checked: those being tested or carrying an unpromoted canary. */
  private carriedObservations(): Record<string, CanaryObservations> {
    const carried: Record<string, CanaryObservations> = {};
    for (const mig of [...this.migs('testing'), ...this.canaried()]) {
      const observed = this.observations.get(mig.name);
      if (observed !== undefined && mig.phase !== 'restored') carried[mig.name] = observed;
    }
    return carried;
  }

  private enterStage(stage: RolloutStage): void {
    const at = now();
    const current = this.state.stageTimings.at(-1);
    if (current !== undefined && current.finishedAt === undefined) current.finishedAt = at;
    this.state.stage = stage;
    this.state.stageTimings.push({ stage, startedAt: at, ...(isTerminal(stage) ? { finishedAt: at } : {}) });
    addTimeline(this.state, { at, kind: 'stage', message: `stage ${stage}` });
    log.info('rollout stage', { stage });
    if (this.searchAttributesEnabled) upsertSearchAttributes([{ key: RolloutStageSearchAttribute, value: stage }]);
    this.refreshDetails();
  }

  private refreshDetails(): void {
    const counts = { instancesOld: 0, instancesNew: 0, runnersOld: 0, runnersNew: 0 };
    for (const mig of this.state.migs) {
      counts.instancesOld += mig.instancesOld;
      counts.instancesNew += mig.instancesNew;
      counts.runnersOld += mig.runnersOld ?? 0;
      counts.runnersNew += mig.runnersNew ?? 0;
    }
    this.state.counts = counts;
    setCurrentDetails(renderDetails(this.state));
  }

  private plan(): RolloutPlan {
    if (this.state.plan === undefined) throw new Error('rollout state has no plan after preflight');
    return this.state.plan;
  }

  private migs(role: MigState['role']): MigState[] {
    return this.state.migs.filter((mig) => mig.role === role);
  }

  /** MIGs carrying the new version ahead of promotion: canaries and direct-update first regions. */
  private canaried(): MigState[] {
    return this.state.migs.filter(
      (mig) =>
        (mig.role === 'canary' && mig.phase === 'canary') || (mig.role === 'direct-first' && mig.phase === 'updated'),
    );
  }

  /** Where a testing MIG goes back to when its earlier bounds were never read: the environment's normal bounds. */
  private fleetAutoscaling(): AutoscalingBounds {
    return this.plan().testingAutoscaling;
  }
}

function now(): string {
  return new Date().toISOString();
}

function preflightFailure(problems: readonly PreflightProblem[]): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    `preflight found ${problems.length} problem(s); nothing was changed:\n` +
      problems
        .map((problem) => `- ${problem.mig === undefined ? '' : `${problem.mig}: `}${problem.message}`)
        .join('\n'),
    ROLLOUT_FAILURE_TYPES.preflightFailed,
    problems,
  );
}

function isTerminal(stage: RolloutStage): boolean {
  return stage === 'done' || stage === 'rolled-back' || stage === 'aborted' || stage === 'failed-preflight';
}

function sumExcept(byTemplate: Readonly<Record<string, number>>, except: string): number {
  return Object.entries(byTemplate).reduce((sum, [template, count]) => (template === except ? sum : sum + count), 0);
}
