/**
 * Who sent each control a rollout received, as Temporal recorded it. The identity inside a request (`--identity`,
 * or the field typed in the Web UI) is whatever the caller claims; the client identity Temporal writes into the
 * history event comes from the connection, which Temporal Cloud API keys and mTLS certificates tie to a principal
 * (docs/design.md, "Who may approve"). Both are read from the workflow history, so no workflow keeps them.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { ROLLOUT_CONTROLS } from '../workflows/rollout-controls-contract.js';

export interface ReceivedControl {
  /** The update or signal name: `approve`, `pause-signal`, … */
  readonly name: string;
  readonly kind: 'update' | 'signal';
  readonly at: string;
  /** The `identity` the request names (an escalation's `source`): a claim, whatever the caller typed. */
  readonly claimedIdentity?: string;
  /** The client identity Temporal recorded with the event; empty when the client sent none. */
  readonly temporalIdentity: string;
  /** The gate, for approvals. */
  readonly stage?: string;
  readonly updateId?: string;
}

export type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
type HistoryEvent = NonNullable<History['events']>[number];
type Payload = Parameters<typeof defaultPayloadConverter.fromPayload>[0];

/** The history of a run of a workflow; the latest run when `runId` is omitted. */
export type FetchHistory = (workflowId: string, runId?: string) => Promise<History>;

/** Operator controls only: the per-MIG workers' reports are signals too, but no person sends them. */
const CONTROL_NAMES: ReadonlySet<string> = new Set(
  Object.values(ROLLOUT_CONTROLS).flatMap(({ update, signal }) => [update.name, signal.name]),
);

interface RunControls {
  readonly controls: readonly ReceivedControl[];
  /** The run this one continued from. */
  readonly previousRunId?: string;
}

/**
 * Reads the controls of a rollout across every run it continued as new through. A finished run's history never
 * changes, so each earlier run is read once per reader (`status --watch` keeps one).
 */
export class ReceivedControls {
  private readonly earlierRuns = new Map<string, RunControls>();

  constructor(private readonly fetchHistory: FetchHistory) {}

  /** Every control the rollout received, oldest first. */
  async of(workflowId: string): Promise<ReceivedControl[]> {
    const latest = runControls(await this.fetchHistory(workflowId));
    const runs = [latest];
    for (let runId = latest.previousRunId; runId !== undefined;) {
      let run = this.earlierRuns.get(runId);
      if (run === undefined) {
        run = runControls(await this.fetchHistory(workflowId, runId));
        this.earlierRuns.set(runId, run);
      }
      runs.unshift(run);
      runId = run.previousRunId;
    }
    return runs.flatMap((run) => run.controls);
  }
}

function runControls(history: History): RunControls {
  const controls: ReceivedControl[] = [];
  const updateIds = new Set<string>();
  let previousRunId: string | undefined;
  for (const event of history.events ?? []) {
    const at = eventTime(event);
    const started = event.workflowExecutionStartedEventAttributes;
    if (started?.continuedExecutionRunId) previousRunId = started.continuedExecutionRunId;
    const signal = event.workflowExecutionSignaledEventAttributes;
    if (signal?.signalName && CONTROL_NAMES.has(signal.signalName)) {
      controls.push({
        name: signal.signalName,
        kind: 'signal',
        at,
        temporalIdentity: signal.identity ?? '',
        ...claims(signal.input),
      });
    }
    // An update recorded as admitted carries its request there, and is accepted later without it.
    const request =
      event.workflowExecutionUpdateAdmittedEventAttributes?.request ??
      event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest;
    const name = request?.input?.name;
    const updateId = request?.meta?.updateId ?? undefined;
    if (name && CONTROL_NAMES.has(name) && !(updateId !== undefined && updateIds.has(updateId))) {
      if (updateId !== undefined) updateIds.add(updateId);
      controls.push({
        name,
        kind: 'update',
        at,
        temporalIdentity: request?.meta?.identity ?? '',
        ...claims(request?.input?.args),
        ...(updateId === undefined ? {} : { updateId }),
      });
    }
  }
  return { controls, ...(previousRunId === undefined ? {} : { previousRunId }) };
}

/** The identity and gate the request names, when its payload reads as one of the rollout's requests. */
function claims(input: { payloads?: Payload[] | null } | null | undefined): {
  claimedIdentity?: string;
  stage?: string;
} {
  const payload = input?.payloads?.[0];
  if (payload === undefined) return {};
  let request: unknown;
  try {
    // The project's clients send with the default converter; anything else is simply not read.
    request = defaultPayloadConverter.fromPayload(payload);
  } catch {
    return {};
  }
  if (typeof request !== 'object' || request === null) return {};
  const fields = request as Record<string, unknown>;
  const claimed = typeof fields['identity'] === 'string' ? fields['identity'] : fields['source'];
  return {
    ...(typeof claimed === 'string' ? { claimedIdentity: claimed } : {}),
    ...(typeof fields['stage'] === 'string' ? { stage: fields['stage'] } : {}),
  };
}

function eventTime(event: HistoryEvent): string {
  const seconds = event.eventTime?.seconds;
  const ms = (typeof seconds === 'number' ? seconds : (seconds?.toNumber() ?? 0)) * 1000;
  return new Date(ms + Math.floor((event.eventTime?.nanos ?? 0) / 1e6)).toISOString();
}
