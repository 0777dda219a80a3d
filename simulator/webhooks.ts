/**
 * Signed `workflow_job` webhook deliveries, as GitHub sends them to an organization webhook: one POST per job
 * transition with `X-GitHub-Event`, `X-GitHub-Delivery` and `X-Hub-Signature-256` (HMAC-SHA256 of the raw body).
 */
import { randomUUID } from 'node:crypto';

import { Webhooks } from '@octokit/webhooks';

import type { FleetModel } from './fleet-model.js';
import type { JobAction, SimJob } from './fleet-types.js';
import { workflowJobResource } from './github-runs.js';

export interface WebhookTarget {
  /** Where deliveries are POSTed (an http(s) URL). */
  readonly url: string;
  /** The webhook secret the receiver verifies signatures with. */
  readonly secret: string;
}

export interface WebhookDelivery {
  readonly id: string;
  readonly action: JobAction;
  readonly jobId: number;
  /** HTTP status of the receiver's answer, or 0 when it could not be reached. */
  readonly status: number;
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

  constructor(private readonly model: FleetModel) {
    model.jobListener = (action, job) => this.enqueue(action, job);
  }

  configure(target: WebhookTarget | undefined): void {
    if (target !== undefined) {
      const url = new URL(target.url);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw new RangeError(`webhook url "${target.url}" must use http or https`);
      }
      if (target.secret === '') throw new RangeError('webhook secret must not be empty');
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
