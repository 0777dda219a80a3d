import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

import { realStepMs } from './clock.js';
import { ComputeApiError, ControlApiError, GitHubApiError } from './errors.js';
import type { FleetModel } from './fleet-model.js';
import { GitHubLimits, type GitHubTicket } from './github-limits.js';
import type { GitHubTraffic } from './github-traffic.js';
import { injectedError } from './injected-errors.js';
import { CallLatency } from './latency.js';
import { isNetworkFault, resetConnection, sendBadGateway } from './network-faults.js';
import { Random } from './random.js';
import type { RequestLog } from './request-log.js';
import { notFound, respondError, send, write } from './responses.js';
import { apiOf, RouteTable, type ApiRequest, type ApiResponse, type Route } from './routing.js';

const MAX_BODY_BYTES = 8 * 1024 * 1024;
/** The counted status of a request that got no status line (a reset or a hang), as fetch reports one. */
const NO_ANSWER = 0;

/**
 * One node:http server for all three APIs: each request finds its route, meets the injected faults, the call latency
 * and GitHub's limits on the way, is answered, and is counted and logged.
 */
export class SimulatorServer {
  readonly server: Server;
  private readonly routes: RouteTable;
  private readonly githubLimits: GitHubLimits;
  private readonly latency: CallLatency;

  constructor(
    private readonly model: FleetModel,
    readonly log: RequestLog,
    routes: readonly Route[],
    seed: number,
    githubTraffic: GitHubTraffic,
  ) {
    this.githubLimits = new GitHubLimits(model, githubTraffic);
    this.latency = new CallLatency(new Random(seed, 'latency'));
    this.routes = new RouteTable(routes);
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        // Last resort: the handler already answers every error it can classify.
        if (!response.headersSent) send(response, 500, { error: String(error) }, {});
      });
    });
    this.server.keepAliveTimeout = 5000;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const origin = `http://${request.headers.host ?? '127.0.0.1'}`;
    const url = new URL(request.url ?? '/', origin);
    const method = request.method ?? 'GET';
    const api = apiOf(url.pathname);
    const matched = this.routes.match(method, url.pathname);
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
      if (fault.latencyMs > 0 && !(await waitWhileOpen(response, fault.latencyMs))) return;
      const clock = this.model.clock;
      const answersAt = clock.now() + simulatedMs;
      for (
        let stepMs = realStepMs(answersAt, clock.now(), clock.getSpeed());
        stepMs > 0;
        stepMs = realStepMs(answersAt, clock.now(), clock.getSpeed())
      ) {
        if (!(await waitWhileOpen(response, stepMs))) return;
      }
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
    route: Route,
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
    route: Route,
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
