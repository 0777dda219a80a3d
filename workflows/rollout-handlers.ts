/** The rollout's query, its operator controls as updates and signals, and the MIG workers' reports. */
import { ApplicationFailure, currentUpdateInfo, log, setHandler } from '@temporalio/workflow';
import { migReportSignal } from './mig-worker-contract.js';
import { statusQuery } from './rollout-contract.js';
import {
  ROLLOUT_CONTROLS,
  type ControlAck,
  type ControlKind,
  type ControlRequests,
} from './rollout-controls-contract.js';
import { type Control, addTimeline, applyControl, controlProblem } from './rollout-controls.js';
import { type RolloutRun, now } from './rollout-run.js';

const PROCESSED_UPDATE_IDS_LIMIT = 500;

export function installHandlers(run: RolloutRun): void {
  setHandler(statusQuery, () => run.state, {
    description: 'Full rollout state: stage, per-MIG progress, pending gate, approvals, timeline.',
  });
  for (const kind of Object.keys(ROLLOUT_CONTROLS) as ControlKind[]) registerControl(run, kind);
  setHandler(
    migReportSignal,
    (report) => {
      if (report.kind === 'result') run.reports.set(report.commandId, report);
    },
    { description: 'Internal: outcome of a command sent to a per-MIG worker.' },
  );
}

const CONTROL_DESCRIPTIONS: { readonly [K in ControlKind]: string } = {
  approve: 'Approve the pending gate: {"stage":"test"|"promote","identity":"you","reason":"why"}.',
  pause: 'Pause: no new change starts until resumed; health checks continue. {"identity","reason"}.',
  resume: 'Resume a paused rollout (also retries a failed step). {"identity","reason"}.',
  abort: 'Abort: roll back whatever is in canary and stop. {"identity","reason"} (reason required).',
  rollback: 'Roll back every canary (before promotion) and end as rolled-back. {"identity","reason"}.',
  escalation: 'Record an escalation: {"source","severity":"info"|"warning"|"critical","message"}.',
};

/** The update validates and answers; the signal of the same control applies it or logs why it was ignored. */
function registerControl<K extends ControlKind>(run: RolloutRun, kind: K): void {
  type Request = ControlRequests[K];
  const { update, signal } = ROLLOUT_CONTROLS[kind];
  const description = CONTROL_DESCRIPTIONS[kind];
  // A control of kind K is one of the union, but TypeScript does not follow a generic K into it.
  const toControl = (request: Request): Control => ({ kind, request }) satisfies Control<K> as Control;
  const alreadyApplied = (): boolean => {
    const updateId = currentUpdateInfo()?.id;
    return updateId !== undefined && run.processedUpdateIds.includes(updateId);
  };
  setHandler(
    update,
    (request) => {
      if (alreadyApplied()) return ack(run, 'already applied');
      const updateId = currentUpdateInfo()?.id;
      if (updateId !== undefined) rememberUpdate(run, updateId);
      return ack(run, apply(run, toControl(request), updateId));
    },
    {
      description,
      validator: (request: Request) => {
        if (alreadyApplied()) return;
        const problem = controlProblem(run.state, toControl(request));
        // A plain Error would fail the workflow task instead of rejecting the update.
        if (problem !== undefined) throw ApplicationFailure.nonRetryable(problem, 'InvalidControl');
      },
    },
  );
  setHandler(
    signal,
    (request) => {
      const control = toControl(request);
      const problem = controlProblem(run.state, control);
      if (problem === undefined) {
        apply(run, control);
        return;
      }
      log.warn('ignored invalid signal', { signal: signal.name, problem });
      addTimeline(run.state, { at: now(), kind: 'ignored-signal', message: `${signal.name} ignored: ${problem}` });
      run.refreshDetails();
    },
    { description: `Signal form of the "${update.name}" update. ${description}` },
  );
}

function apply(run: RolloutRun, control: Control, updateId?: string): string {
  const message = applyControl(run.state, control, now(), updateId);
  log.info('control applied', { kind: control.kind, message });
  run.refreshDetails();
  return message;
}

function ack(run: RolloutRun, message: string): ControlAck {
  return { stage: run.state.stage, paused: run.state.pause !== undefined, message };
}

function rememberUpdate(run: RolloutRun, updateId: string): void {
  run.processedUpdateIds.push(updateId);
  if (run.processedUpdateIds.length > PROCESSED_UPDATE_IDS_LIMIT) run.processedUpdateIds.shift();
}
