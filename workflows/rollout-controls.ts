/**
 * Operator controls as a pure reducer over {@link RolloutState}: whether a control makes sense now, and what it
 * changes. The workflow wires these to updates (validator + handler) and signals (validate, then apply or
 * ignore), so both paths behave the same.
 */
import { TERMINAL_STAGES, type EscalationRequest, type RolloutState, type TimelineEvent } from './rollout-contract.js';
import type { ControlKind, ControlRequest, ControlRequests } from './rollout-controls-contract.js';

/** An operator control of one kind (any kind when `K` is left out) with the request it carries. */
export type Control<K extends ControlKind = ControlKind> = {
  readonly [Kind in K]: { readonly kind: Kind; readonly request: ControlRequests[Kind] };
}[K];

const TIMELINE_LIMIT = 200;
const ESCALATION_LIMIT = 100;

export function addTimeline(state: RolloutState, event: TimelineEvent): void {
  state.timeline.push(event);
  const excess = state.timeline.length - TIMELINE_LIMIT;
  if (excess > 0) {
    state.timeline.splice(0, excess);
    state.timelineDropped += excess;
  }
}

/** Why `control` makes no sense now, or undefined when it may be applied. */
export function controlProblem(state: RolloutState, control: Control): string | undefined {
  if (TERMINAL_STAGES.includes(state.stage)) return `rollout is ${state.stage}; it accepts no more controls`;
  if (control.kind === 'escalation') return escalationProblem(control.request);
  const request: ControlRequest = control.request;
  if (typeof request?.identity !== 'string' || request.identity.trim() === '') {
    return `${control.kind} needs an identity (who is acting)`;
  }
  const stopping =
    state.stop === undefined
      ? undefined
      : `rollout is already stopping (${state.stop.kind} by ${state.stop.identity}: ${state.stop.reason})`;
  switch (control.kind) {
    case 'approve': {
      const stage = control.request.stage;
      if (stage !== 'test' && stage !== 'promote')
        return `approval stage must be "test" or "promote", got "${String(stage)}"`;
      if (stopping !== undefined) return stopping;
      const wanted = stage === 'test' ? 'test-approval' : 'promote-approval';
      if (state.gate?.kind === wanted) return undefined;
      const approved = state.approvals.find((approval) => approval.stage === stage);
      if (approved !== undefined) return `${stage} was already approved by ${approved.identity} at ${approved.at}`;
      return `no ${stage} approval is pending: ${whereWeAre(state)}`;
    }
    case 'pause':
      if (stopping !== undefined) return stopping;
      if (state.stage === 'preflight') return 'preflight is still running and changes nothing; abort it instead';
      if (state.pause !== undefined)
        return `already paused by ${state.pause.identity} at ${state.pause.at}: ${state.pause.reason}`;
      return undefined;
    case 'resume':
      return state.pause === undefined ? `rollout is not paused: ${whereWeAre(state)}` : undefined;
    case 'abort':
      if (stopping !== undefined) return stopping;
      if (typeof control.request.reason !== 'string' || control.request.reason.trim() === '') {
        return 'abort needs a reason';
      }
      return undefined;
    case 'rollback': {
      if (stopping !== undefined) return stopping;
      if (state.stage === 'preflight') return 'nothing has changed yet; abort instead of rolling back';
      if (state.stage === 'converge') {
        return 'every canary is promoted; roll forward with a new version (abort only stops converging)';
      }
      const promoted = state.migs.filter(
        (mig) => mig.phase === 'promoted' || (mig.role === 'direct-rest' && mig.phase === 'updated'),
      );
      if (promoted.length > 0) {
        return `promotion has started (${promoted.map((mig) => mig.name).join(', ')}); abort rolls back only what is still in canary`;
      }
      return undefined;
    }
  }
}

function escalationProblem(request: EscalationRequest): string | undefined {
  if (typeof request?.source !== 'string' || request.source.trim() === '') return 'escalation needs a source';
  if (typeof request.message !== 'string' || request.message.trim() === '') return 'escalation needs a message';
  if (!['info', 'warning', 'critical'].includes(request.severity)) {
    return `escalation severity must be info, warning or critical, got "${String(request.severity)}"`;
  }
  return undefined;
}

function whereWeAre(state: RolloutState): string {
  const gate = state.gate === undefined ? '' : `, waiting for ${state.gate.waitsFor}`;
  const soak = state.stage === 'soak' && state.soak !== undefined ? `, soak ends at ${state.soak.endsAt}` : '';
  return `stage is ${state.stage}${gate}${soak}`;
}

/** Applies a control that {@link controlProblem} accepted; returns the acknowledgement message. */
export function applyControl(state: RolloutState, control: Control, at: string, updateId?: string): string {
  switch (control.kind) {
    case 'approve': {
      const { stage, identity } = control.request;
      const reason = control.request.reason ?? '';
      state.approvals.push({ stage, identity, reason, at, ...(updateId === undefined ? {} : { updateId }) });
      state.gate = undefined;
      addTimeline(state, {
        at,
        kind: 'approved',
        identity,
        message: `${stage} approved${reason ? `: ${reason}` : ''}`,
      });
      return `${stage} approved by ${identity}`;
    }
    case 'pause': {
      const reason = control.request.reason ?? '';
      state.pause = { identity: control.request.identity, reason, at };
      addTimeline(state, { at, kind: 'paused', identity: control.request.identity, message: reason || 'paused' });
      return 'paused: no new change starts until resumed (health checks continue)';
    }
    case 'resume':
      state.pause = undefined;
      addTimeline(state, {
        at,
        kind: 'resumed',
        identity: control.request.identity,
        message: control.request.reason ?? 'resumed',
      });
      return 'resumed';
    case 'abort':
    case 'rollback': {
      const reason = control.request.reason ?? '';
      state.stop = { kind: control.kind, identity: control.request.identity, reason, at };
      // Stopping is itself the operator's decision: a pause must not hold the rollback back.
      state.pause = undefined;
      state.evidence.push(`${control.kind} requested by ${control.request.identity}${reason ? `: ${reason}` : ''}`);
      addTimeline(state, {
        at,
        kind: `${control.kind}-requested`,
        identity: control.request.identity,
        message: reason || control.kind,
      });
      return control.kind === 'abort'
        ? 'aborting: canaries are rolled back, nothing new starts'
        : 'rolling back every MIG still in canary';
    }
    case 'escalation': {
      state.escalations.push({ ...control.request, at });
      if (state.escalations.length > ESCALATION_LIMIT) state.escalations.shift();
      addTimeline(state, {
        at,
        kind: 'escalation',
        identity: control.request.source,
        message: `${control.request.severity}: ${control.request.message}`,
      });
      return 'escalation recorded';
    }
  }
}
