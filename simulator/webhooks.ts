/**
 * Signed `workflow_job` webhook deliveries, as GitHub sends them to an organization webhook: one POST per job
 * transition with `X-GitHub-Event`, `X-GitHub-Delivery` and `X-Hub-Signature-256` (HMAC-SHA256 of the raw body).
 */
import { randomUUID } from 'node:crypto';

import { Webhooks } from '@octokit/webhooks';

import type { FleetModel } from './fleet-model.js';
import type { JobAction, SimJob } from './fleet-types.js';
import { workflowJobResource } from './github-runs.js';
import { Random } from './random.js';

export interface WebhookTarget {
  /** Where deliveries are POSTed (an http(s) URL). */
  readonly url: string;
  /** The webhook secret the receiver verifies signatures with. */
  readonly secret: string;
  /**
   * The share of deliveries (0 to 1, default 0) that never reach the receiver, drawn from the seeded random: GitHub
   * promises no delivery and redelivers nothing by itself
   * (https://docs.github.com/en/webhooks/using-webhooks/handling-failed-webhook-deliveries), so a receiver's
   * owner must catch up by other means.
   */
  readonly dropRate?: number;
}

export interface WebhookDelivery {
  readonly id: string;
  readonly action: JobAction;
  readonly jobId: number;
  /** HTTP status of the receiver's answer, or 0 when it could not be reached or the delivery was dropped. */
  readonly status: number;
  /** Never sent: one of the `dropRate` share. */
  readonly dropped?: true;
}

/** Upper bound on a receiver's answer; a stuck receiver must not hold back the deliveries after it. */
const DELIVERY_TIMEOUT_MS = 10_000;

/**
 * Sends deliveries one at a time in event order (as a receiver that counts transitions expects) and records how
 * each went. GitHub does not retry failed deliveries either; they are only listed as failed.
 */
export class WebhookSender {
  readonly deliveries: WebhookDelivery[] = [];
  private target: WebhookTarget | undefined;
  private webhooks: Webhooks | undefined;
  private queue: Promise<void> = Promise.resolve();
  private readonly drops: Random;

  constructor(private readonly model: FleetModel) {
    model.jobListener = (action, job) => this.enqueue(action, job);
    this.drops = new Random(model.seed, 'webhookDrops');
  }

  configure(target: WebhookTarget | undefined): void {
    if (target !== undefined) {
      const url = new URL(target.url);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw new RangeError(`webhook url "${target.url}" must use http or https`);
      }
      if (target.secret === '') throw new RangeError('webhook secret must not be empty');
      const rate = target.dropRate ?? 0;
      if (!(Number.isFinite(rate) && rate >= 0 && rate <= 1)) {
        throw new RangeError(`webhook dropRate must be from 0 to 1, not ${String(target.dropRate)}`);
      }
    }
    this.target = target;
    this.webhooks = target === undefined ? undefined : new Webhooks({ secret: target.secret });
  }

  /** Resolves once every delivery queued so far has been answered or has failed. */
  async flush(): Promise<void> {
    await this.queue;
  }

  private enqueue(action: JobAction, job: SimJob): void {
    const target = this.target;
    const webhooks = this.webhooks;
    if (target === undefined || webhooks === undefined) return;
    // Built now: the job moves on before the delivery goes out, and the payload must show this transition.
    const body = JSON.stringify(this.payload(action, job));
    const id = randomUUID();
    // Drawn now, in event order, so a seeded run drops the same deliveries whatever the receiver's speed.
    if (this.drops.next() < (target.dropRate ?? 0)) {
      this.queue = this.queue.then(() => {
        this.deliveries.push({ id, action, jobId: job.id, status: 0, dropped: true });
      });
      return;
    }
    this.queue = this.queue.then(async () => {
      let status = 0;
      try {
        const response = await fetch(target.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'GitHub-Hookshot/simulator',
            'x-github-event': 'workflow_job',
            'x-github-delivery': id,
            'x-hub-signature-256': await webhooks.sign(body),
          },
          body,
          signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
        });
        status = response.status;
        await response.body?.cancel();
      } catch {
        // Unreachable receiver: recorded with status 0, like GitHub's "failed delivery".
      }
      this.deliveries.push({ id, action, jobId: job.id, status });
    });
  }

  private payload(action: JobAction, job: SimJob): Record<string, unknown> {
    const org = this.model.fleet.github.org;
    const [owner = org, repo = ''] = this.model.fleet.github.configRepo.split('/');
    return {
      action,
      workflow_job: workflowJobResource(this.model, job),
      repository: { id: 1, name: repo, full_name: `${owner}/${repo}`, owner: { login: owner } },
      organization: { login: org },
      sender: { login: 'github-actions[bot]', type: 'Bot' },
    };
  }
}
