/**
 * Contract of the `rollout` workflow's operator controls: their requests, the acknowledgement, and the update and
 * signal definitions. Imported by workflows/ and cli/.
 *
 * Message naming scheme: every operator control exists twice, with the same payload:
 * - as an **update** named `<control>` (`approve`, `pause`, `resume`, `abort`, `rollback`, `recordEscalation`):
 *   a validator rejects it with a reason when it makes no sense in the current stage, and the caller gets an
 *   acknowledgement. The CLI uses these.
 * - as a **signal** named `<control>-signal` (`approve-signal`, …): for the Temporal Web UI's "Send a Signal"
 *   action and other fire-and-forget senders. Invalid signals are logged, recorded in the timeline and ignored.
 * The query `status` (rollout-contract.ts) returns the full rollout state.
 */
import type { SignalDefinition, UpdateDefinition } from '@temporalio/common';
import { defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ApprovalStage, EscalationRequest, RolloutStage } from './rollout-contract.js';

export interface ApproveRequest {
  readonly stage: ApprovalStage;
  readonly identity: string;
  readonly reason?: string;
}

export interface ControlRequest {
  readonly identity: string;
  readonly reason?: string;
}

export interface AbortRequest {
  readonly identity: string;
  readonly reason: string;
}

/** What an accepted update answers. */
export interface ControlAck {
  readonly stage: RolloutStage;
  readonly paused: boolean;
  readonly message: string;
}

export const approveUpdate = defineUpdate<ControlAck, [ApproveRequest]>('approve');
export const pauseUpdate = defineUpdate<ControlAck, [ControlRequest]>('pause');
export const resumeUpdate = defineUpdate<ControlAck, [ControlRequest]>('resume');
export const abortUpdate = defineUpdate<ControlAck, [AbortRequest]>('abort');
export const rollbackUpdate = defineUpdate<ControlAck, [ControlRequest]>('rollback');
export const recordEscalationUpdate = defineUpdate<ControlAck, [EscalationRequest]>('recordEscalation');

export const approveSignal = defineSignal<[ApproveRequest]>('approve-signal');
export const pauseSignal = defineSignal<[ControlRequest]>('pause-signal');
export const resumeSignal = defineSignal<[ControlRequest]>('resume-signal');
export const abortSignal = defineSignal<[AbortRequest]>('abort-signal');
export const rollbackSignal = defineSignal<[ControlRequest]>('rollback-signal');
export const recordEscalationSignal = defineSignal<[EscalationRequest]>('recordEscalation-signal');

/** The request each operator control carries, keyed by the kind the reducer knows it by (rollout-controls.ts). */
export interface ControlRequests {
  readonly approve: ApproveRequest;
  readonly pause: ControlRequest;
  readonly resume: ControlRequest;
  readonly abort: AbortRequest;
  readonly rollback: ControlRequest;
  readonly escalation: EscalationRequest;
}

export type ControlKind = keyof ControlRequests;

/** One operator control's two forms (the message scheme above): the update and its fire-and-forget signal. */
export interface ControlMessages<Request> {
  readonly update: UpdateDefinition<ControlAck, [Request]>;
  readonly signal: SignalDefinition<[Request]>;
}

/** Every operator control: the workflow registers a handler pair for each, the CLI reads them from history. */
export const ROLLOUT_CONTROLS: { readonly [K in ControlKind]: ControlMessages<ControlRequests[K]> } = {
  approve: { update: approveUpdate, signal: approveSignal },
  pause: { update: pauseUpdate, signal: pauseSignal },
  resume: { update: resumeUpdate, signal: resumeSignal },
  abort: { update: abortUpdate, signal: abortSignal },
  rollback: { update: rollbackUpdate, signal: rollbackSignal },
  escalation: { update: recordEscalationUpdate, signal: recordEscalationSignal },
};
