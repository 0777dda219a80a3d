/**
 * What the receiver makes of one webhook delivery, once its body has been read: verify, de-duplicate, place the
 * job in its pool, signal the pool's controller. The only state is the window of recent delivery ids and the
 * counters; if the receiver dies, a delivery it did not answer is lost to GitHub's log of failed deliveries and the
 * controllers' reconciliation, nothing else.
 *
 * GitHub's documentation followed here:
 * - signatures: https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries (HMAC-SHA256 of
 *   the raw body with the webhook secret, in `X-Hub-Signature-256`, compared in constant time: Octokit's
 *   `verify` does both);
 * - events: https://docs.github.com/en/webhooks/webhook-events-and-payloads#workflow_job (`X-GitHub-Event`,
 *   `X-GitHub-Delivery`, the payload's `action`);
 * - answers: https://docs.github.com/en/webhooks/using-webhooks/best-practices-for-using-webhooks (check the event
 *   type and action before processing; answer with a 2XX within 10 seconds; `X-GitHub-Delivery` is unique per
 *   delivery, so a delivery seen twice is a replay or a redelivery). GitHub does not redeliver failed deliveries on
 *   its own (https://docs.github.com/en/webhooks/using-webhooks/handling-failed-webhook-deliveries): a delivery
 *   that could not be signalled is answered 503 so it shows as failed and can be redelivered.
 */
import { Webhooks } from '@octokit/webhooks';
import { poolOfJob, type Pool } from '../runner-config/pools.js';
import type { PoolSignalSink } from './pool-signals.js';
import { RecentKeys } from './recent-keys.js';
import { readWorkflowJob } from './workflow-job.js';

/** Delivery ids remembered: GitHub redelivers by hand, within days; a window of this many spans a busy day's minutes. */
export const DELIVERY_WINDOW = 10_000;
/** Distinct label sets of jobs matching no pool that are logged; the rest are only counted. */
const LOGGED_LABEL_SETS = 1_000;
/** Below GitHub's 10 seconds, so a slow Temporal is answered 503 rather than timed out by GitHub. */
export const SIGNAL_TIMEOUT_MS = 8_000;

export interface DeliveryHeaders {
  readonly event: string | undefined;
  readonly delivery: string | undefined;
  readonly signature: string | undefined;
}

export interface DeliveryAnswer {
  readonly status: number;
  readonly message: string;
}

export interface ReceiverLogEntry {
  readonly level: 'info' | 'warn' | 'error';
  readonly event: string;
  readonly message: string;
  readonly data: Record<string, unknown>;
}

export interface DeliveryCounts {
  /** Forwarded to a pool controller. */
  forwarded: number;
  duplicates: number;
  /** Events other than workflow_job (and `ping`). */
  otherEvents: number;
  /** workflow_job actions that ask nothing of a pool (`waiting`). */
  otherActions: number;
  /** Jobs whose labels match no MIG of the fleet. */
  unmatched: number;
  /** Jobs whose labels match MIGs of more than one pool. */
  ambiguous: number;
  /** Refused: bad or missing signature (401), malformed (400), too large (413). */
  badSignature: number;
  malformed: number;
  tooLarge: number;
  /** The controller could not be signalled (503). */
  failed: number;
}

export interface DeliveryHandlerOptions {
  readonly secret: string;
  readonly pools: readonly Pool[];
  readonly sink: PoolSignalSink;
  readonly log: (entry: ReceiverLogEntry) => void;
  readonly deliveryWindow?: number;
  readonly signalTimeoutMs?: number;
}

export class DeliveryHandler {
  readonly counts: DeliveryCounts = {
    forwarded: 0,
    duplicates: 0,
    otherEvents: 0,
    otherActions: 0,
    unmatched: 0,
    ambiguous: 0,
    badSignature: 0,
    malformed: 0,
    tooLarge: 0,
    failed: 0,
  };
  readonly deliveries: RecentKeys;
  private readonly webhooks: Webhooks;
  private readonly loggedLabelSets = new RecentKeys(LOGGED_LABEL_SETS);
  private readonly signalTimeoutMs: number;

  constructor(private readonly options: DeliveryHandlerOptions) {
    if (options.secret === '') throw new RangeError('the webhook secret must not be empty');
    this.webhooks = new Webhooks({ secret: options.secret });
    this.deliveries = new RecentKeys(options.deliveryWindow ?? DELIVERY_WINDOW);
    this.signalTimeoutMs = options.signalTimeoutMs ?? SIGNAL_TIMEOUT_MS;
  }

  tooLarge(limit: number): DeliveryAnswer {
    this.counts.tooLarge += 1;
    return { status: 413, message: `payload larger than ${limit} bytes` };
  }

  async handle(headers: DeliveryHeaders, body: string): Promise<DeliveryAnswer> {
    if (headers.signature === undefined || headers.signature === '') {
      this.counts.badSignature += 1;
      return { status: 401, message: 'missing X-Hub-Signature-256' };
    }
    if (body === '') return this.malformed('empty body');
    if (!(await this.webhooks.verify(body, headers.signature))) {
      this.counts.badSignature += 1;
      return { status: 401, message: 'signature does not match the payload' };
    }
    if (headers.event === undefined || headers.event === '') return this.malformed('missing X-GitHub-Event');
    if (headers.delivery === undefined || headers.delivery === '') return this.malformed('missing X-GitHub-Delivery');
    let payload: unknown;
    try {
      payload = JSON.parse(body);
    } catch {
      return this.malformed('body is not JSON');
    }
    if (headers.event !== 'workflow_job') {
      this.counts.otherEvents += 1;
      return { status: 204, message: `${headers.event} events are ignored` };
    }
    const read = readWorkflowJob(payload, headers.delivery);
    if (read.kind === 'invalid') return this.malformed(read.problem);
    // Remembered before signalling, so a duplicate arriving meanwhile is not signalled twice.
    if (!this.deliveries.add(headers.delivery)) {
      this.counts.duplicates += 1;
      return { status: 204, message: `delivery ${headers.delivery} was already received` };
    }
    if (read.kind === 'other-action') {
      this.counts.otherActions += 1;
      return { status: 204, message: `workflow_job ${read.action} is ignored` };
    }
    const { event } = read;
    // Pools that are off get their jobs too: their controllers only count them, so every pool's queue can be
    // shown, and a pool switched to queue starts from the demand of the moment.
    const placement = poolOfJob(this.options.pools, event.labels);
    if (placement.kind !== 'pool') {
      this.counts[placement.kind] += 1;
      this.logLabelsOnce(placement.kind, event.labels, placement.kind === 'ambiguous' ? placement.pools : []);
      return { status: 204, message: `job ${event.jobId} is in no pool (${placement.kind})` };
    }
    try {
      await this.withTimeout(this.options.sink.signal(placement.pool.id, event));
    } catch (error) {
      // Not received after all: a redelivery must be signalled. A timed-out signal may still land; the
      // controller applies a job's event once whatever the deliveries (workflows/pool-jobs.ts).
      this.deliveries.delete(headers.delivery);
      this.counts.failed += 1;
      const reason = error instanceof Error ? error.message : String(error);
      this.options.log({
        level: 'error',
        event: 'signal-failed',
        message: `job ${event.jobId} (${event.action}) not signalled to pool ${placement.pool.id}: ${reason}`,
        data: { pool: placement.pool.id, jobId: event.jobId, delivery: headers.delivery, reason },
      });
      return { status: 503, message: 'the pool controller could not be signalled; redeliver later' };
    }
    this.counts.forwarded += 1;
    return { status: 202, message: `job ${event.jobId} ${event.action} sent to pool ${placement.pool.id}` };
  }

  private malformed(message: string): DeliveryAnswer {
    this.counts.malformed += 1;
    return { status: 400, message };
  }

  private logLabelsOnce(kind: 'unmatched' | 'ambiguous', labels: readonly string[], pools: readonly string[]): void {
    const key = [...labels]
      .map((label) => label.toLowerCase())
      .sort()
      .join(',');
    if (!this.loggedLabelSets.add(key)) return;
    const message =
      kind === 'unmatched'
        ? `jobs with labels [${labels.join(', ')}] match no runner of the fleet; they are counted, not forwarded`
        : `jobs with labels [${labels.join(', ')}] match runners of pools ${pools.join(', ')}; they are counted, not forwarded (name the runner group and environment)`;
    this.options.log({ level: 'warn', event: kind, message, data: { labels, pools } });
  }

  private async withTimeout(signalled: Promise<void>): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer from Temporal within ${this.signalTimeoutMs} ms`)),
        this.signalTimeoutMs,
      );
    });
    try {
      await Promise.race([signalled, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
