/** Writing answers: JSON or raw bytes, whole or cut off by a fault, and errors in the shape of their API. */
import type { ServerResponse } from 'node:http';

import { ComputeApiError, ControlApiError, GitHubApiError, ModelError } from './errors.js';
import { sendTruncated } from './network-faults.js';
import type { ApiKind } from './routing.js';

/** The answer to a request no route matches, in the shape of the API its path belongs to. */
export function notFound(api: ApiKind, method: string, pathname: string): Error {
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

/** Writes an error in the shape of the API it belongs to; returns the status sent. */
export function respondError(
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

export function send(
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

export function write(
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
