import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

import { ComputeApiError, ControlApiError, GitHubApiError, ModelError } from './errors.js';
import type { InjectedFault } from './faults.js';
import type { FleetModel } from './fleet-model.js';
import { GitHubLimits, type GitHubTicket } from './github-limits.js';
import { CallLatency, realWaitMs } from './latency.js';
import { isNetworkFault, resetConnection, sendBadGateway, sendTruncated } from './network-faults.js';
import { Random } from './random.js';

export type ApiKind = 'compute' | 'github' | 'control';

export interface ApiRequest {
  readonly method: string;
  readonly url: URL;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** Parsed JSON body; undefined for an empty body or the `""` the compute client sends for body-less POSTs. */
  readonly body: unknown;
  readonly headers: IncomingMessage['headers'];
  /** `http://host:port` as the client addressed the server, for absolute links back to it. */
  readonly origin: string;
  /** Set when a fault rule turns this compute mutation into a failed operation. */
  readonly operationError?: { readonly code: string; readonly status: number };
  /** Set when a fault rule makes this compute mutation's operation take this many simulated seconds. */
  readonly operationSeconds?: number;
}

export interface ApiResponse {
  readonly status: number;
  readonly body?: unknown;
  /** Sent as is instead of JSON. */
  readonly bytes?: Buffer;
  readonly headers?: Readonly<Record<string, string>>;
  /** For the mutation log: whether the request changed anything (false for a repeated requestId). */
  readonly effective?: boolean;
  readonly requestId?: string;
}

export interface Route {
  readonly api: ApiKind;
  readonly method: string;
  /** Path template with `:name` segments. */
  readonly path: string;
  /** Stable id used by counters and fault rules, e.g. `compute.regionInstanceGroupManagers.patch`. */
  readonly endpoint: string;
  /** May answer later (an operation `wait` blocks until the operation is DONE or its deadline passes). */
  readonly handle: (request: ApiRequest) => ApiResponse | Promise<ApiResponse>;
}

export interface EndpointCounter {
  requests: number;
  injectedFaults: number;
  statuses: Record<string, number>;
}

export interface MutationLogEntry {
  readonly seq: number;
  /** Simulated time (ISO). */
  readonly at: string;
  readonly method: string;
  /** Path and query as sent. */
  readonly path: string;
  readonly endpoint: string;
  readonly body: unknown;
  readonly requestId?: string;
  readonly effective: boolean;
  readonly status: number;
}

/** Per-endpoint counters and the log of every mutating API request. */
export class RequestLog {
  counters = new Map<string, EndpointCounter>();
  readonly mutations: MutationLogEntry[] = [];
  private seq = 1;

  count(endpoint: string, status: number, injected: boolean): void {
    let counter = this.counters.get(endpoint);
    if (counter === undefined) {
      counter = { requests: 0, injectedFaults: 0, statuses: {} };
      this.counters.set(endpoint, counter);
    }
    counter.requests++;
    if (injected) counter.injectedFaults++;
    counter.statuses[String(status)] = (counter.statuses[String(status)] ?? 0) + 1;
  }

  logMutation(entry: Omit<MutationLogEntry, 'seq'>): void {
    this.mutations.push({ seq: this.seq++, ...entry });
  }
}

interface CompiledRoute extends Route {
  readonly segments: readonly string[];
}

const MAX_BODY_BYTES = 8 * 1024 * 1024;
/** The counted status of a request that got no status line (a reset or a hang), as fetch reports one. */
const NO_ANSWER = 0;

/** One node:http server for all three APIs, dispatching on method and path segments. */
export class SimulatorServer {
  readonly server: Server;
  private readonly routes: CompiledRoute[];
  private readonly githubLimits: GitHubLimits;
  private readonly latency: CallLatency;

  constructor(
    private readonly model: FleetModel,
    readonly log: RequestLog,
    routes: readonly Route[],
    seed: number,
  ) {
    this.githubLimits = new GitHubLimits(model);
    this.latency = new CallLatency(new Random(seed, 'latency'));
    this.routes = routes.map((route) => ({ ...route, segments: route.path.split('/').filter((s) => s !== '') }));
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        // Last resort: the handler already answers every error it can classify.
        if (!response.headersSent) send(response, 500, { error: String(error) }, {});
      });
    });
    this.server.keepAliveTimeout = 5000;
  }

  private match(
    method: string,
    pathname: string,
  ): { route: CompiledRoute; params: Record<string, string> } | undefined {
    const segments = pathname.split('/').filter((s) => s !== '');
    for (const route of this.routes) {
      if (route.method !== method || route.segments.length !== segments.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < segments.length && ok; i++) {
        const expected = route.segments[i] ?? '';
        const actual = segments[i] ?? '';
        if (expected.startsWith(':')) params[expected.slice(1)] = safeDecode(actual);
        else ok = expected === actual;
      }
      if (ok) return { route, params };
    }
    return undefined;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const origin = `http://${request.headers.host ?? '127.0.0.1'}`;
    const url = new URL(request.url ?? '/', origin);
    const method = request.method ?? 'GET';
    const api = apiOf(url.pathname);
    const matched = this.match(method, url.pathname);
    const raw = await readBody(request).catch(() => undefined);
    if (raw === undefined) {
      respondError(response, api, new ControlApiError(413, `request body larger than ${MAX_BODY_BYTES} bytes`));
      return;
    }
    if (matched === undefined) {
      respondError(response, api, notFound(api, method, url.pathname));
      return;
    }
    const { route, params } = matched;
    const ticket =
      api === 'github'
        ? this.githubLimits.admit(
            { method, endpoint: route.endpoint, headers: request.headers, remoteAddress: request.socket.remoteAddress },
            (release) => response.once('close', release),
          )
        : undefined;
    if (ticket?.refusal !== undefined) {
      this.finish(response, route, url, method, undefined, ticket.refusal, false, ticket);
      return;
    }
    let body: unknown;
    try {
      body = parseBody(raw);
    } catch {
      const error =
        api === 'compute'
          ? new ComputeApiError(400, 'parseError', 'Invalid JSON payload received.')
          : api === 'github'
            ? new GitHubApiError(400, 'Problems parsing JSON')
            : new ControlApiError(400, 'request body is not valid JSON');
      this.finish(response, route, url, method, body, error, false, ticket);
      return;
    }
    this.model.catchUp();
    const mutating = method !== 'GET';
    let operationError: ApiRequest['operationError'];
    let operationSeconds: number | undefined;
    // The backend did the work, only its answer is lost on the way: a mutation takes effect all the same.
    let truncate = false;
    if (api !== 'control') {
      const fault = this.model.faults.decide(route.endpoint, mutating);
      const simulatedMs = this.model.behaviours.callLatency ? this.latency.draw(route.endpoint, method) : 0;
      const waitMs = fault.latencyMs + realWaitMs(simulatedMs, this.model.clock.getSpeed());
      if (waitMs > 0 && !(await waitWhileOpen(response, waitMs))) return;
      this.model.catchUp();
      if (fault.fail && isNetworkFault(fault.kind) && fault.kind !== 'truncatedBody') {
        if (fault.kind === 'connectionReset') resetConnection(request);
        else if (fault.kind === 'htmlBadGateway') sendBadGateway(response, api);
        // A hang sends nothing and holds no timer: the client gives up, or close() drops the connection.
        this.record(route, url, method, body, fault.kind === 'htmlBadGateway' ? 502 : NO_ANSWER, true, false);
        return;
      }
      truncate = fault.fail && fault.kind === 'truncatedBody';
      if (fault.fail && !truncate) {
        this.finish(
          response,
          route,
          url,
          method,
          body,
          injectedError(api, fault, url.pathname, this.model.now()),
          true,
          ticket,
        );
        return;
      }
      if (fault.operationError !== undefined) operationError = { code: fault.operationError, status: fault.status };
      if (fault.operationSeconds !== undefined) operationSeconds = fault.operationSeconds;
    }
    let result: ApiResponse | Error;
    try {
      result = await route.handle({
        method,
        url,
        params,
        query: url.searchParams,
        body,
        headers: request.headers,
        origin,
        ...(operationError === undefined ? {} : { operationError }),
        ...(operationSeconds === undefined ? {} : { operationSeconds }),
      });
      this.model.catchUp();
    } catch (error) {
      result = error instanceof Error ? error : new Error(String(error));
    }
    this.finish(response, route, url, method, body, result, truncate, ticket, truncate);
  }

  private finish(
    response: ServerResponse,
    route: CompiledRoute,
    url: URL,
    method: string,
    body: unknown,
    result: ApiResponse | Error,
    injected: boolean,
    ticket?: GitHubTicket,
    truncate = false,
  ): void {
    let status: number;
    if (result instanceof Error) status = respondError(response, route.api, result, ticket?.headers(), truncate);
    else {
      const answer = ticket === undefined ? result : ticket.shape(result);
      status = answer.status;
      const headers = answer.headers ?? {};
      if (answer.bytes !== undefined) {
        write(response, status, { 'content-type': 'application/octet-stream', ...headers }, answer.bytes, truncate);
      } else send(response, status, answer.body, headers, truncate);
    }
    const requestId = result instanceof Error ? (url.searchParams.get('requestId') ?? undefined) : result.requestId;
    const effective = !(result instanceof Error) && (result.effective ?? true);
    this.record(route, url, method, body, status, injected, effective, requestId);
  }

  private record(
    route: CompiledRoute,
    url: URL,
    method: string,
    body: unknown,
    status: number,
    injected: boolean,
    effective: boolean,
    requestId = url.searchParams.get('requestId') ?? undefined,
  ): void {
    if (route.api === 'control') return;
    this.log.count(route.endpoint, status, injected);
    if (method !== 'GET') {
      this.log.logMutation({
        at: new Date(this.model.now()).toISOString(),
        method,
        path: url.pathname + url.search,
        endpoint: route.endpoint,
        body: body ?? null,
        ...(requestId === undefined ? {} : { requestId }),
        effective,
        status,
      });
    }
  }
}

/** Waits `ms` real milliseconds; false when the client or close() dropped the connection meanwhile. */
async function waitWhileOpen(response: ServerResponse, ms: number): Promise<boolean> {
  const gone = new AbortController();
  const abort = (): void => gone.abort();
  response.once('close', abort);
  try {
    await sleep(ms, undefined, { signal: gone.signal });
    return true;
  } catch {
    return false;
  } finally {
    response.off('close', abort);
  }
}

function apiOf(pathname: string): ApiKind {
  if (pathname.startsWith('/compute/')) return 'compute';
  if (pathname.startsWith('/_sim/')) return 'control';
  return 'github';
}

function notFound(api: ApiKind, method: string, pathname: string): Error {
  if (api === 'compute') {
    return new ComputeApiError(
      404,
      'notFound',
      `The requested URL ${method} ${pathname} was not found on this server.`,
    );
  }
  if (api === 'github') return new GitHubApiError(404, 'Not Found');
  return new ControlApiError(404, `no control route ${method} ${pathname}`);
}

/**
 * The answer to a request a fault rule fails, in the shape production gives it. Sources: GCE error reasons
 * (https://cloud.google.com/compute/docs/troubleshooting/troubleshooting-api-errors), GitHub rate limits and
 * errors (https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api,
 * https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api).
 */
function injectedError(api: ApiKind, fault: InjectedFault, path: string, now: number): Error {
  const { status } = fault;
  if (api === 'compute') {
    const resource = path.replace(/^\/compute\/v1\//, '').replace(/\/(listManagedInstances|deleteInstances|wait)$/, '');
    switch (fault.kind) {
      case 'forbidden':
        return new ComputeApiError(
          403,
          'forbidden',
          `Required 'compute.instanceGroupManagers.update' permission for '${resource}'`,
        );
      case 'insufficientPermissions':
        return new ComputeApiError(403, 'insufficientPermissions', 'Request had insufficient authentication scopes.');
      case 'resourceNotReady':
        return new ComputeApiError(409, 'resourceNotReady', `The resource '${resource}' is not ready`);
      case 'concurrentOperationsQuota':
        return new ComputeApiError(
          403,
          'rateLimitExceeded',
          "Quota 'CONCURRENT_OPERATIONS' exceeded: CONCURRENT_OPERATIONS_QUOTA_EXCEEDED. Limit: 1000.0 in region.",
          'usageLimits',
        );
      default:
        break;
    }
    if (status === 403 || status === 429) {
      return new ComputeApiError(status, 'rateLimitExceeded', 'Rate Limit Exceeded', 'usageLimits');
    }
    if (status >= 500) {
      return new ComputeApiError(status, 'backendError', 'Internal error. Please try again or contact Google Support.');
    }
    return new ComputeApiError(status, 'invalid', `Injected error ${status}.`);
  }
  const limitStatus = status === 429 ? 429 : 403;
  const retryAfter: Record<string, string> =
    fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) };
  switch (fault.kind) {
    case 'notAccessibleByIntegration':
      return new GitHubApiError(403, 'Resource not accessible by integration');
    case 'primaryRateLimit':
      return new GitHubApiError(limitStatus, 'API rate limit exceeded for installation ID 1.', {
        ...retryAfter,
        'x-ratelimit-limit': '5000',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-used': '5000',
        'x-ratelimit-resource': 'core',
        'x-ratelimit-reset': String(Math.ceil(now / 1000) + 3600),
      });
    case 'secondaryRateLimit':
      return new GitHubApiError(
        limitStatus,
        'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
        retryAfter,
      );
    default:
      break;
  }
  // A plain injected 429 or 403 keeps the answer earlier fault rules were written against.
  const legacyRetryAfter = { 'retry-after': '1' };
  if (status === 429)
    return new GitHubApiError(429, 'API rate limit exceeded for installation.', {
      ...legacyRetryAfter,
      'x-ratelimit-remaining': '0',
    });
  if (status === 403) {
    return new GitHubApiError(
      403,
      'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
      legacyRetryAfter,
    );
  }
  return new GitHubApiError(status, status >= 500 ? 'Server Error' : `Injected error ${status}`);
}

/** Writes an error in the shape of the API it belongs to; returns the status sent. */
function respondError(
  response: ServerResponse,
  api: ApiKind,
  error: Error,
  rateLimitHeaders: Readonly<Record<string, string>> = {},
  truncate = false,
): number {
  const shaped = shapeError(api, error);
  const headers = shaped instanceof GitHubApiError ? { ...rateLimitHeaders, ...shaped.headers } : {};
  send(response, shaped.status, shaped.toJSON(), headers, truncate);
  return shaped.status;
}

function shapeError(api: ApiKind, error: Error): ComputeApiError | GitHubApiError | ControlApiError {
  if (error instanceof ComputeApiError || error instanceof GitHubApiError || error instanceof ControlApiError)
    return error;
  if (error instanceof ModelError) {
    const status = { invalid: 400, notFound: 404, conflict: 409, conditionNotMet: 412 }[error.kind];
    const reason = {
      invalid: 'invalid',
      notFound: 'notFound',
      conflict: 'alreadyExists',
      conditionNotMet: 'conditionNotMet',
    }[error.kind];
    if (api === 'compute') return new ComputeApiError(status, reason, error.message);
    if (api === 'github') return new GitHubApiError(status === 400 ? 422 : status, error.message);
    return new ControlApiError(status, error.message);
  }
  const message = `internal simulator error: ${error.message}`;
  if (api === 'compute') return new ComputeApiError(500, 'backendError', message);
  if (api === 'github') return new GitHubApiError(500, message);
  return new ControlApiError(500, message);
}

function send(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>>,
  truncate = false,
): void {
  if (status === 204 || body === undefined) {
    response.writeHead(status, headers);
    response.end();
    return;
  }
  const bytes = Buffer.from(JSON.stringify(body));
  write(response, status, { 'content-type': 'application/json; charset=utf-8', ...headers }, bytes, truncate);
}

function write(
  response: ServerResponse,
  status: number,
  headers: Readonly<Record<string, string>>,
  bytes: Buffer,
  truncate: boolean,
): void {
  if (truncate) {
    sendTruncated(response, status, headers, bytes);
    return;
  }
  response.writeHead(status, { 'content-length': String(bytes.length), ...headers });
  response.end(bytes);
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new RangeError('body too large');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseBody(raw: string): unknown {
  const text = raw.trim();
  if (text === '' || text === '""') return undefined;
  return JSON.parse(text) as unknown;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
