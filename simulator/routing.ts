/**
 * The contract between the server and the three APIs: a route, the request it is handed and the response it
 * gives, and how a request finds its route.
 */
import type { IncomingMessage } from 'node:http';

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

interface CompiledRoute extends Route {
  readonly segments: readonly string[];
}

/** The routes of all three APIs, matched on method and path segments; a `:name` segment binds a parameter. */
export class RouteTable {
  private readonly routes: CompiledRoute[];

  constructor(routes: readonly Route[]) {
    this.routes = routes.map((route) => ({ ...route, segments: route.path.split('/').filter((s) => s !== '') }));
  }

  match(method: string, pathname: string): { route: Route; params: Record<string, string> } | undefined {
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
}

/** Which API a path belongs to, so that even an unmatched request gets an answer in the shape of that API. */
export function apiOf(pathname: string): ApiKind {
  if (pathname.startsWith('/compute/')) return 'compute';
  if (pathname.startsWith('/_sim/')) return 'control';
  return 'github';
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
