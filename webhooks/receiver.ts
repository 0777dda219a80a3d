/**
 * The webhook receiver's HTTP server: GitHub POSTs each delivery to `/`; the body is read up to a limit and
 * handed to the {@link DeliveryHandler}, whose answer is the response. `GET /healthz` answers 200 for load
 * balancers and process supervisors.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DeliveryHandler,
  type DeliveryAnswer,
  type DeliveryCounts,
  type DeliveryHandlerOptions,
} from './deliveries.js';

/**
 * GitHub caps payloads at 25 MB (https://docs.github.com/en/webhooks/webhook-events-and-payloads#payload-cap);
 * a `workflow_job` payload is a few kilobytes (its job, repository, organisation and sender). 1 MiB leaves room
 * for long label lists and large organisations, and refuses, unread, what only other events send (a `push` with
 * thousands of commits): the webhook should be subscribed to `workflow_job` alone.
 */
export const MAX_BODY_BYTES = 1024 * 1024;

export interface WebhookReceiverOptions extends DeliveryHandlerOptions {
  readonly port: number;
  /** Default: every interface. */
  readonly host?: string;
  readonly maxBodyBytes?: number;
}

export interface WebhookReceiver {
  /** `http://host:port/`, with the port chosen when 0 was asked for. */
  readonly url: string;
  readonly counts: Readonly<DeliveryCounts>;
  /** Delivery ids in the de-duplication window (at most its limit). */
  deliveriesRemembered(): number;
  close(): Promise<void>;
}

export async function startWebhookReceiver(options: WebhookReceiverOptions): Promise<WebhookReceiver> {
  const handler = new DeliveryHandler(options);
  const maxBodyBytes = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const server = createServer((request, response) => {
    serve(handler, maxBodyBytes, request, response).catch((error: unknown) => {
      options.log({
        level: 'error',
        event: 'delivery-error',
        message: `delivery not handled: ${error instanceof Error ? error.message : String(error)}`,
        data: {},
      });
      if (!response.headersSent) answer(response, { status: 500, message: 'internal error' });
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host === undefined || options.host === '0.0.0.0' ? '127.0.0.1' : options.host;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/`,
    counts: handler.counts,
    deliveriesRemembered: () => handler.deliveries.size,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeIdleConnections();
      }),
  };
}

async function serve(
  handler: DeliveryHandler,
  maxBodyBytes: number,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const path = new URL(request.url ?? '/', 'http://receiver').pathname;
  if (path === '/healthz' && request.method === 'GET') return answer(response, { status: 200, message: 'ok' });
  if (path !== '/') return refuse(request, response, { status: 404, message: 'deliveries go to /' });
  if (request.method !== 'POST') {
    response.setHeader('allow', 'POST');
    return refuse(request, response, { status: 405, message: 'deliveries are POSTed' });
  }
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > maxBodyBytes) return refuse(request, response, handler.tooLarge(maxBodyBytes));
  const body = await readBody(request, maxBodyBytes);
  if (body === undefined) return refuse(request, response, handler.tooLarge(maxBodyBytes));
  answer(
    response,
    await handler.handle(
      {
        event: header(request, 'x-github-event'),
        delivery: header(request, 'x-github-delivery'),
        signature: header(request, 'x-hub-signature-256'),
      },
      body,
    ),
  );
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The body as text, or undefined as soon as it passes the limit. The rest is then read and dropped, so memory
 * stays flat and the sender, still sending, gets the answer rather than a reset connection.
 */
function readBody(request: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      request.off('data', onData);
      request.off('end', onEnd);
      request.resume();
      resolve(undefined);
    };
    const onEnd = (): void => resolve(Buffer.concat(chunks).toString('utf8'));
    request.on('data', onData);
    request.once('end', onEnd);
    request.once('error', reject);
  });
}

/** Answers before the body is read; the body is then read and dropped. */
function refuse(request: IncomingMessage, response: ServerResponse, result: DeliveryAnswer): void {
  answer(response, result);
  request.resume();
}

function answer(response: ServerResponse, result: DeliveryAnswer): void {
  const body = result.status === 204 ? '' : `${result.message}\n`;
  response.writeHead(result.status, {
    'content-type': 'text/plain; charset=utf-8',
    // A 204 still says why in a header: GitHub's delivery log shows the headers of the answer.
    'x-receiver-result': encodeURIComponent(result.message),
  });
  response.end(body);
}
