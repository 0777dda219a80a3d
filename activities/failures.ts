import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../workflows/activity-failure-types.js';

export { FailureType, NON_RETRYABLE_FAILURE_TYPES } from '../workflows/activity-failure-types.js';

/** Builds a permanent failure. `details` must be plain JSON: it is stored in workflow history for good. */
export function permanentFailure(
  type: FailureType,
  message: string,
  details?: Record<string, unknown>,
): ApplicationFailure {
  return failure(type, message, true, details);
}

/** Builds a failure that Temporal retries according to the activity's retry policy. */
export function transientFailure(
  type: FailureType,
  message: string,
  details?: Record<string, unknown>,
): ApplicationFailure {
  return failure(type, message, false, details);
}

function failure(
  type: FailureType,
  message: string,
  nonRetryable: boolean,
  details: Record<string, unknown> | undefined,
): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message: redact(message),
    nonRetryable,
    ...(details === undefined ? {} : { details: [redactValue(details)] }),
  });
}

/** What an HTTP error from either client says, reduced to the facts that decide retrying. */
export interface HttpErrorFacts {
  /** HTTP status, or 0 for network failures and timeouts. */
  readonly status: number;
  /** GCP `error.errors[0].reason` (e.g. `rateLimitExceeded`, `conditionNotMet`) when present. */
  readonly reason?: string;
  readonly message: string;
  /** How long the server asks us to wait: `retry-after`, or until `x-ratelimit-reset` when the budget is spent. */
  readonly retryAfterSeconds?: number;
}

/**
 * GitHub's rule for a limited request (https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api
 * "Exceeding the rate limit"): honour `retry-after`; else, with `x-ratelimit-remaining: 0`, wait until
 * `x-ratelimit-reset`; else (a secondary limit without either) wait at least a minute.
 */
export const SECONDARY_LIMIT_BACKOFF_SECONDS = 60;

/**
 * The wait a rate-limit answer asks for, in seconds, or undefined when it names none. The reset is an epoch time on
 * the server's clock, so it is measured against the answer's own `date` header where there is one: a worker whose
 * clock is off still waits the right time.
 */
function limitWaitSeconds(headers: Record<string, unknown> | undefined, nowMs: number): number | undefined {
  if (headers === undefined) return undefined;
  const retryAfter = Number(headers['retry-after']);
  if (Number.isFinite(retryAfter) && retryAfter > 0) return retryAfter;
  const reset = Number(headers['x-ratelimit-reset']);
  if (headers['x-ratelimit-remaining'] !== '0' || !Number.isFinite(reset) || reset <= 0) return undefined;
  const date = headers['date'];
  const served = typeof date === 'string' ? Date.parse(date) : Number.NaN;
  const serverNowMs = Number.isNaN(served) ? nowMs : served;
  return Math.max(1, Math.ceil(reset - serverNowMs / 1000));
}

const NETWORK_ERROR_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * Reads a GaxiosError (compute: `code` is the HTTP status, `message` the raw JSON body), an Octokit RequestError
 * (`status`, `response.data`) or a Node network error. Returns undefined for anything else (a bug: let it surface).
 */
export function httpErrorFacts(error: unknown): HttpErrorFacts | undefined {
  if (!(error instanceof Error)) return undefined;
  const fields = error as Error & {
    code?: unknown;
    status?: unknown;
    response?: { status?: unknown; data?: unknown; headers?: Record<string, unknown> };
    cause?: unknown;
  };
  const status =
    typeof fields.status === 'number'
      ? fields.status
      : typeof fields.response?.status === 'number'
        ? fields.response.status
        : typeof fields.code === 'number'
          ? fields.code
          : undefined;
  if (status !== undefined) {
    const body = parseErrorBody(fields.response?.data ?? error.message);
    const retryAfter = limitWaitSeconds(fields.response?.headers, Date.now());
    return {
      status,
      ...(body.reason === undefined ? {} : { reason: body.reason }),
      message: body.message ?? error.message,
      ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }),
    };
  }
  const networkCode = typeof fields.code === 'string' ? fields.code : undefined;
  if (
    (networkCode !== undefined && NETWORK_ERROR_CODES.has(networkCode)) ||
    error.name === 'AbortError' ||
    error.name === 'TimeoutError' ||
    /socket hang up|network|timed? ?out/i.test(error.message)
  ) {
    return { status: 0, message: error.message };
  }
  if (fields.cause !== undefined && fields.cause !== error) return httpErrorFacts(fields.cause);
  return undefined;
}

function parseErrorBody(body: unknown): { reason?: string; message?: string } {
  let data = body;
  if (typeof body === 'string') {
    try {
      data = JSON.parse(body);
    } catch {
      return {};
    }
  }
  if (typeof data !== 'object' || data === null) return {};
  const gcp = (data as { error?: { message?: unknown; errors?: Array<{ reason?: unknown }> } }).error;
  if (gcp !== undefined) {
    const reason = gcp.errors?.[0]?.reason;
    return {
      ...(typeof reason === 'string' ? { reason } : {}),
      ...(typeof gcp.message === 'string' ? { message: gcp.message } : {}),
    };
  }
  const message = (data as { message?: unknown }).message;
  return typeof message === 'string' ? { message } : {};
}

export function isRateLimit(facts: HttpErrorFacts): boolean {
  if (facts.status === 429) return true;
  return (
    facts.status === 403 &&
    (/rateLimitExceeded|userRateLimitExceeded|quotaExceeded/.test(facts.reason ?? '') ||
      /rate limit/i.test(facts.message))
  );
}

export function isTransient(facts: HttpErrorFacts): boolean {
  return facts.status === 0 || facts.status >= 500 || facts.status === 408 || isRateLimit(facts);
}

/**
 * Turns any error into the failure Temporal should see. ApplicationFailures pass through; HTTP errors become typed
 * failures (transient ones retryable); `notFound` decides what a 404 means at the call site.
 */
export function toFailure(error: unknown, context: string, notFound?: FailureType): Error {
  if (error instanceof ApplicationFailure) return error;
  const facts = httpErrorFacts(error);
  if (facts === undefined) {
    // Unknown errors stay retryable: a programming error shows up in the workflow's pending activity, not silently.
    const message = error instanceof Error ? error.message : String(error);
    return transientFailure(FailureType.UNAVAILABLE, `${context}: ${message}`);
  }
  const detail = `${context}: HTTP ${facts.status}${facts.reason === undefined ? '' : ` ${facts.reason}`}: ${facts.message}`;
  const details = { status: facts.status, ...(facts.reason === undefined ? {} : { reason: facts.reason }) };
  if (isRateLimit(facts)) {
    // A secondary limit that names no wait still wants a minute: retrying sooner only extends the block.
    const waitSeconds =
      facts.retryAfterSeconds ??
      (/secondary rate limit/i.test(facts.message) ? SECONDARY_LIMIT_BACKOFF_SECONDS : undefined);
    return ApplicationFailure.create({
      type: FailureType.RATE_LIMITED,
      message: redact(detail),
      details: [details],
      ...(waitSeconds === undefined ? {} : { nextRetryDelay: waitSeconds * 1000 }),
    });
  }
  if (isTransient(facts)) return transientFailure(FailureType.UNAVAILABLE, detail, details);
  if (facts.status === 412) return transientFailure(FailureType.STALE_FINGERPRINT, detail, details);
  if (facts.status === 404 && notFound !== undefined) return permanentFailure(notFound, detail, details);
  if (facts.status === 401 || facts.status === 403)
    return permanentFailure(FailureType.PERMISSION_DENIED, detail, details);
  return permanentFailure(FailureType.INVALID_REQUEST, detail, details);
}

const SECRET_PATTERNS: ReadonlyArray<[RegExp, string]> = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g, '[REDACTED PRIVATE KEY]'],
  [/\b(authorization|proxy-authorization)(["']?\s*[:=]\s*["']?)(bearer|token|basic)?\s*[^\s"',}]+/gi, '$1$2[REDACTED]'],
  [/\b(bearer|token)\s+[A-Za-z0-9._~+/=-]{8,}/gi, '$1 [REDACTED]'],
  [/\b(gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{20,})/g, '[REDACTED]'],
  [/\bya29\.[A-Za-z0-9._-]+/g, '[REDACTED]'],
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, '[REDACTED JWT]'],
  [/([?&](?:access_token|token|key|client_secret|signature|sig|X-Goog-Signature)=)[^&\s"']+/gi, '$1[REDACTED]'],
  [/("(?:private_?key|client_secret|token|access_token|password|secret)"\s*:\s*")[^"]*(")/gi, '$1[REDACTED]$2'],
];

/** Removes tokens, keys and Authorization values from text that may end up in workflow history or logs. */
export function redact(text: string): string {
  let result = text;
  for (const [pattern, replacement] of SECRET_PATTERNS) result = result.replace(pattern, replacement);
  return result;
}

const SECRET_KEY = /^(authorization|private_?key|privateKey|token|access_token|client_secret|password|secret)$/i;

/** {@link redact} over a JSON-like value; keys that name secrets lose their values entirely. */
export function redactValue(value: unknown): unknown {
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map(redactValue);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => [key, SECRET_KEY.test(key) ? '[REDACTED]' : redactValue(inner)]),
    );
  }
  return value;
}
