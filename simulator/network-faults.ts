import type { IncomingMessage, ServerResponse } from 'node:http';

import type { FaultKind } from './faults.js';
import type { ApiKind } from './routing.js';

/**
 * Failures below the API: what a client meets between it and Google's or GitHub's front ends, where no JSON error
 * body exists. Google documents that its APIs may answer 5xx or drop connections and that clients must retry with
 * backoff (https://cloud.google.com/compute/docs/troubleshooting/troubleshooting-api-errors,
 * https://cloud.google.com/storage/docs/retry-strategy lists connection resets and truncated responses among the
 * transient errors). GitHub ends requests its backends take too long with, for the client, a timeout
 * (https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api#timeouts); its front end's
 * 502 then is an HTML page, as Google's front end's is, so a client that parses every error body as JSON fails.
 */
export const NETWORK_FAULT_KINDS = ['connectionReset', 'hang', 'truncatedBody', 'htmlBadGateway'] as const;
export type NetworkFaultKind = (typeof NETWORK_FAULT_KINDS)[number];

export function isNetworkFault(kind: FaultKind): kind is NetworkFaultKind {
  return (NETWORK_FAULT_KINDS as readonly string[]).includes(kind);
}

/** A TCP reset where the client waits for the answer: it sees ECONNRESET ("socket hang up"), never a status. */
export function resetConnection(request: IncomingMessage): void {
  request.socket.resetAndDestroy();
}

/** Status and headers promising the whole body, half of it, then a dropped connection: the client's read fails. */
export function sendTruncated(
  response: ServerResponse,
  status: number,
  headers: Readonly<Record<string, string>>,
  body: Buffer,
): void {
  response.writeHead(status, { ...headers, 'content-length': String(body.length) });
  response.write(body.subarray(0, Math.floor(body.length / 2)), () => response.socket?.destroy());
}

/** A 502 from the front end in front of the API: an HTML page, not the API's JSON error. */
export function sendBadGateway(response: ServerResponse, api: ApiKind): void {
  const page = api === 'compute' ? GOOGLE_FRONT_END_502 : GITHUB_FRONT_END_502;
  response.writeHead(502, {
    'content-type': 'text/html; charset=UTF-8',
    'content-length': String(Buffer.byteLength(page)),
    ...(api === 'compute' ? {} : { server: 'GitHub.com' }),
  });
  response.end(page);
}

const GOOGLE_FRONT_END_502 = `<!DOCTYPE html>
<html lang=en>
<meta charset=utf-8>
<title>Error 502 (Server Error)!!1</title>
<p><b>502.</b> <ins>That's an error.</ins>
<p>The server encountered a temporary error and could not complete your request.<p>Please try again in 30 seconds. <ins>That's all we know.</ins>
`;

const GITHUB_FRONT_END_502 = `<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>Server Error &middot; GitHub</title></head>
<body>
<div class="container"><h1>502 Bad Gateway</h1>
<p>We didn't receive a timely response from the server. Please try again in a few moments.</p></div>
</body>
</html>
`;
