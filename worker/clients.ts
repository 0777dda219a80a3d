/**
 * Production construction of the GCP Compute and GitHub clients the activities run on. Options are explicit:
 * reading the environment is worker/config.ts's job. Pointing both at the simulator changes only endpoints.
 */
import * as compute from '@google-cloud/compute';
import { createAppAuth } from '@octokit/auth-app';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import { PassThroughClient } from 'google-auth-library';
import pLimit from 'p-limit';
import type { ComputeClients, GitHubClient } from '../activities/ports.js';

export interface ComputeClientOptions {
  /** GCP project whose quota and billing the calls use; ADC's project when omitted. */
  readonly project?: string;
  /**
   * A plain-HTTP endpoint such as `http://127.0.0.1:8085` (the simulator). Calls then carry no credentials.
   * Without it the clients use Application Default Credentials against the public Compute API.
   */
  readonly apiEndpoint?: string;
}

export function createComputeClients(options: ComputeClientOptions = {}): ComputeClients {
  const clientOptions = computeClientOptions(options);
  return {
    migs: new compute.RegionInstanceGroupManagersClient(clientOptions),
    regionOperations: new compute.RegionOperationsClient(clientOptions),
    globalOperations: new compute.GlobalOperationsClient(clientOptions),
    autoscalers: new compute.RegionAutoscalersClient(clientOptions),
    templates: new compute.InstanceTemplatesClient(clientOptions),
    regions: new compute.RegionsClient(clientOptions),
    instances: new compute.InstancesClient(clientOptions),
  };
}

type ComputeClientConstructorOptions = NonNullable<ConstructorParameters<typeof compute.RegionsClient>[0]>;
type AuthClientOption = NonNullable<ComputeClientConstructorOptions['authClient']>;

function computeClientOptions(options: ComputeClientOptions): ComputeClientConstructorOptions {
  const project = options.project === undefined ? {} : { projectId: options.project };
  if (options.apiEndpoint === undefined) return project;
  let url: URL;
  try {
    url = new URL(options.apiEndpoint);
  } catch {
    throw new Error(`compute API endpoint "${options.apiEndpoint}" is not a URL (expected e.g. http://127.0.0.1:8085)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`compute API endpoint "${options.apiEndpoint}" must use http or https`);
  }
  const protocol = url.protocol.slice(0, -1);
  return {
    ...project,
    apiEndpoint: url.hostname,
    port: url.port === '' ? (protocol === 'http' ? 80 : 443) : Number(url.port),
    protocol,
    // Without an auth client, google-auth-library hunts for ADC and its failure is an unhandled rejection
    // that kills the process; a local endpoint needs no credentials at all. The cast bridges the two copies of
    // google-auth-library (ours and the one google-gax pins), which differ only in private fields.
    authClient: new PassThroughClient() as unknown as AuthClientOption,
  };
}

export interface GitHubAppCredentials {
  readonly appId: number | string;
  readonly privateKey: string;
  readonly installationId: number | string;
}

export interface GitHubClientOptions {
  /** API root, e.g. the simulator's URL; https://api.github.com when omitted. */
  readonly baseUrl?: string;
  /** A token (PAT or installation token); ignored when `app` is given. */
  readonly token?: string;
  readonly app?: GitHubAppCredentials;
  /** In-process retries of 5xx answers before the error reaches Temporal's retry policy. */
  readonly retries?: number;
  /** Base of the in-process backoff, in ms (`(n+1)^2 * base`). */
  readonly retryAfterBaseValue?: number;
  /**
   * Throttling serialises writes (one per second) and waits out rate limits. Limits longer than
   * `maxRateLimitWaitSeconds` are not waited for in-process: the error reaches Temporal, which retries later.
   */
  readonly throttle?: { readonly enabled: boolean; readonly maxRateLimitWaitSeconds?: number };
  readonly log?: { warn(message: string): void };
  /** A request without an answer after this long is abandoned as a network failure (default 30 s). */
  readonly requestTimeoutMs?: number;
  /** Requests in flight at once from this worker (default {@link GITHUB_CONCURRENT_REQUESTS}). */
  readonly maxConcurrentRequests?: number;
}

/**
 * GitHub's secondary limit allows about 100 concurrent requests for the whole installation
 * (https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits);
 * a worker keeps well under it so that several workers together do too.
 */
export const GITHUB_CONCURRENT_REQUESTS = 16;

const GITHUB_REQUEST_TIMEOUT_MS = 30_000;

function timedFetch(timeoutMs: number): typeof fetch {
  return (input, init) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = init?.signal == null ? timeout : AbortSignal.any([init.signal, timeout]);
    return fetch(input, { ...init, signal });
  };
}

const RetryingOctokit = Octokit.plugin(retry, throttling);

export function createGitHubClient(options: GitHubClientOptions = {}): GitHubClient {
  if (options.app === undefined && options.token === undefined) {
    throw new Error(
      'GitHub credentials missing: give either a GitHub App (appId, privateKey, installationId) or a token',
    );
  }
  const maxWait = options.throttle?.maxRateLimitWaitSeconds ?? 60;
  const onLimit =
    (kind: string) =>
    (retryAfter: number, request: { method: string; url: string }, _: unknown, retryCount: number) => {
      const willRetry = retryCount === 0 && retryAfter <= maxWait;
      options.log?.warn(
        `GitHub ${kind} rate limit on ${request.method} ${request.url}: ${willRetry ? `retrying in ${retryAfter}s` : 'giving up'}`,
      );
      return willRetry;
    };
  const octokit = new RetryingOctokit({
    ...(options.baseUrl === undefined ? {} : { baseUrl: options.baseUrl.replace(/\/+$/, '') }),
    ...(options.app === undefined
      ? { auth: options.token }
      : {
          authStrategy: createAppAuth,
          auth: {
            appId: options.app.appId,
            privateKey: options.app.privateKey,
            installationId: options.app.installationId,
          },
        }),
    // A connection that hangs would otherwise hold the activity until its own timeout, and a slot of the cap.
    request: { fetch: timedFetch(options.requestTimeoutMs ?? GITHUB_REQUEST_TIMEOUT_MS) },
    retry: {
      retries: options.retries ?? 3,
      ...(options.retryAfterBaseValue === undefined ? {} : { retryAfterBaseValue: options.retryAfterBaseValue }),
    },
    throttle:
      options.throttle?.enabled === false
        ? { enabled: false }
        : { onRateLimit: onLimit('primary'), onSecondaryRateLimit: onLimit('secondary') },
    log: {
      debug: () => undefined,
      info: () => undefined,
      warn: (message: string) => options.log?.warn(message),
      // The request log reports every request that threw, expected answers included (a 304 for an unchanged
      // listing, a 422 for a busy runner); each is thrown to the activity, which reports the real failures.
      error: () => undefined,
    },
  });
  const limit = pLimit(options.maxConcurrentRequests ?? GITHUB_CONCURRENT_REQUESTS);
  octokit.hook.wrap('request', (request, requestOptions) => limit(() => request(requestOptions)));
  return octokit;
}
