/**
 * GitHub's REST rate limits and conditional requests, as https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api
 * and https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#use-conditional-requests-if-appropriate
 * describe them. Counted in simulated time, so a run at any speed meets the limits its request rate would meet.
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

import { GitHubApiError } from './errors.js';
import type { FleetModel } from './fleet-model.js';
import type { GitHubTraffic } from './github-traffic.js';
import { Random } from './random.js';
import type { ApiResponse } from './routing.js';

const HOUR_MS = 3600_000;
const MINUTE_MS = 60_000;
/** A GitHub App installation's (and a token's) primary limit; orgs this size do not get the scaled-up allowance. */
const INSTALLATION_LIMIT = 5000;
/** Unauthenticated requests, per originating IP address. */
const UNAUTHENTICATED_LIMIT = 60;
/** Secondary limits: concurrent requests, and REST points per minute. */
const MAX_CONCURRENT = 100;
const MAX_POINTS_PER_MINUTE = 900;
/** GET, HEAD and OPTIONS cost 1 point, POST, PATCH, PUT and DELETE 5 ("Calculating points for the secondary rate limit"). */
const MUTATION_POINTS = 5;
/** How long a client that tripped a secondary limit stays refused: the docs' "wait for at least one minute". */
const SECONDARY_BLOCK_MS = MINUTE_MS;
/** Not an API call: release assets download from github.com, outside the REST limits. */
const UNCOUNTED_ENDPOINTS = new Set(['github.releases.download']);
const SECONDARY_MESSAGE =
  'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.';

interface Window {
  resetAt: number;
  used: number;
}

interface ClientTraffic {
  inFlight: number;
  /** Points spent in the last minute, oldest first. */
  points: Array<{ at: number; points: number }>;
  blockedUntil: number;
}

export interface GitHubCall {
  readonly method: string;
  readonly endpoint: string;
  readonly headers: IncomingHttpHeaders;
  readonly remoteAddress: string | undefined;
}

/** One request as the limits saw it. */
export interface GitHubTicket {
  /** The refusal to send instead of calling the route, when a limit is exceeded. */
  readonly refusal: GitHubApiError | undefined;
  /** The `x-ratelimit-*` headers every answer carries, errors included. */
  headers(): Record<string, string>;
  /** A success as GitHub sends it: rate-limit headers, an ETag on reads, 304 when the client's copy is current. */
  shape(result: ApiResponse): ApiResponse;
}

export class GitHubLimits {
  private readonly windows = new Map<string, Window>();
  private readonly traffic = new Map<string, ClientTraffic>();
  private readonly random: Random;
  constructor(
    private readonly model: FleetModel,
    /** What the requests cost, for the control API: a run's budget is measured here, not guessed. */
    private readonly record: GitHubTraffic,
  ) {
    this.random = new Random(model.seed, 'github-limits');
  }

  /** Counts a request in; `done` must be called once its answer has gone out. */
  admit(call: GitHubCall, done: (release: () => void) => void): GitHubTicket {
    const now = this.model.now();
    const behaviours = this.model.behaviours;
    const authorization = call.headers.authorization?.trim() ?? '';
    const authenticated = authorization !== '';
    const key = authenticated ? `auth:${authorization}` : `ip:${call.remoteAddress ?? 'unknown'}`;
    const limit = authenticated ? INSTALLATION_LIMIT : UNAUTHENTICATED_LIMIT;
    // Unauthenticated calls only reach an answer worth counting when public reads are modelled at all.
    const primary =
      !UNCOUNTED_ENDPOINTS.has(call.endpoint) &&
      (authenticated ? behaviours.githubPrimaryLimit : behaviours.publicReleaseReads);
    const secondary = behaviours.githubSecondaryLimits && !UNCOUNTED_ENDPOINTS.has(call.endpoint);
    const window = primary ? this.window(key, now) : undefined;
    const headers = (): Record<string, string> =>
      window === undefined ? legacyHeaders(now) : windowHeaders(window, limit);
    const ticket = (refusal: GitHubApiError | undefined, refund: () => void): GitHubTicket => ({
      refusal,
      headers,
      shape: (result) => conditional(call, result, headers, refund),
    });

    if (window !== undefined && window.used >= limit) {
      const who = authenticated ? 'installation ID 1' : (call.remoteAddress ?? 'unknown');
      this.record.refused('primary');
      return ticket(
        new GitHubApiError(this.pick(403, 429), `API rate limit exceeded for ${who}.`, headers()),
        () => undefined,
      );
    }
    if (secondary) {
      const traffic = this.clientTraffic(key, now);
      const points = ['GET', 'HEAD', 'OPTIONS'].includes(call.method) ? 1 : MUTATION_POINTS;
      const spent = traffic.points.reduce((sum, entry) => sum + entry.points, 0);
      const tripped =
        now < traffic.blockedUntil || traffic.inFlight >= MAX_CONCURRENT || spent + points > MAX_POINTS_PER_MINUTE;
      if (tripped) {
        traffic.blockedUntil = Math.max(traffic.blockedUntil, now + SECONDARY_BLOCK_MS);
        // GitHub sends retry-after only sometimes; without it the docs say to wait at least a minute.
        const retryAfter: Record<string, string> =
          this.random.next() < 0.5 ? { 'retry-after': String(Math.ceil((traffic.blockedUntil - now) / 1000)) } : {};
        this.record.refused('secondary');
        return ticket(
          new GitHubApiError(this.pick(403, 429), SECONDARY_MESSAGE, { ...headers(), ...retryAfter }),
          () => undefined,
        );
      }
      traffic.points.push({ at: now, points });
      traffic.inFlight++;
      done(() => traffic.inFlight--);
    }
    if (window !== undefined) window.used++;
    const recorded = UNCOUNTED_ENDPOINTS.has(call.endpoint) ? undefined : this.record.answered();
    if (recorded !== undefined) done(() => recorded.finished());
    return ticket(undefined, () => {
      if (window !== undefined) window.used--;
      recorded?.notModified();
    });
  }

  /** GitHub's window starts with the first request after the previous one reset, and lasts an hour. */
  private window(key: string, now: number): Window {
    let window = this.windows.get(key);
    if (window === undefined || now >= window.resetAt) {
      window = { resetAt: now + HOUR_MS, used: 0 };
      this.windows.set(key, window);
    }
    return window;
  }

  private clientTraffic(key: string, now: number): ClientTraffic {
    let traffic = this.traffic.get(key);
    if (traffic === undefined) {
      traffic = { inFlight: 0, points: [], blockedUntil: 0 };
      this.traffic.set(key, traffic);
    }
    while ((traffic.points[0]?.at ?? Infinity) <= now - MINUTE_MS) traffic.points.shift();
    return traffic;
  }

  /** "You will receive a 403 or 429 response": which one is not documented, so either may come. */
  private pick(a: number, b: number): number {
    return this.random.next() < 0.5 ? a : b;
  }
}

function windowHeaders(window: Window, limit: number): Record<string, string> {
  return {
    'x-ratelimit-limit': String(limit),
    'x-ratelimit-remaining': String(Math.max(0, limit - window.used)),
    'x-ratelimit-used': String(Math.min(limit, window.used)),
    'x-ratelimit-resource': 'core',
    'x-ratelimit-reset': String(Math.ceil(window.resetAt / 1000)),
  };
}

/** The fixed headers of a server without limits. */
function legacyHeaders(now: number): Record<string, string> {
  return {
    'x-ratelimit-limit': '5000',
    'x-ratelimit-remaining': '4999',
    'x-ratelimit-used': '1',
    'x-ratelimit-resource': 'core',
    'x-ratelimit-reset': String(Math.floor(now / 1000) + 3600),
  };
}

/**
 * Reads carry an ETag; a read whose `If-None-Match` names the current one gets 304 without a body, which
 * does not count against the primary limit when the request was authorized (unauthenticated ones still count).
 */
function conditional(
  call: GitHubCall,
  result: ApiResponse,
  headers: () => Record<string, string>,
  refund: () => void,
): ApiResponse {
  if (call.method !== 'GET' || result.status !== 200 || result.body === undefined || result.bytes !== undefined) {
    return { ...result, headers: { ...headers(), ...result.headers } };
  }
  const etag = `W/"${createHash('sha256').update(JSON.stringify(result.body)).digest('hex').slice(0, 32)}"`;
  const wanted = (call.headers['if-none-match'] ?? '').split(',').map((tag) => tag.trim());
  if (wanted.includes(etag) || wanted.includes('*')) {
    if (call.headers.authorization !== undefined) refund();
    return { status: 304, headers: { ...headers(), ...result.headers, etag } };
  }
  return { ...result, headers: { ...headers(), ...result.headers, etag } };
}
