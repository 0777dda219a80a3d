import type { Random } from './random.js';

/**
 * `callLatency`: how long an API call takes, in simulated milliseconds.
 *
 * Neither Google nor GitHub publish latency figures for these endpoints, so the medians are orders of magnitude
 * seen from a worker in a GCP region, not promises: Compute reads about 80 ms; Compute mutations about 200 ms,
 * because each one is validated and recorded as an Operation before it answers
 * (https://cloud.google.com/compute/docs/api/how-tos/api-requests-responses); GitHub REST about 100 ms.
 * Service latencies are right-skewed, so each draw is log-normal around its median with a tail reaching about a
 * second: an engine that fans out hundreds of sequential calls is slow in production, and the simulator should
 * show it.
 */
const MEDIAN_MS = { computeRead: 80, computeMutation: 200, github: 100 } as const;
/** Spread of the underlying normal: about one call in a hundred takes four times its median. */
const SIGMA = 0.6;
const TAIL_MS = 1000;

/** Reads that the compute API sends as POST: they record no operation, so they answer as fast as a GET. */
const POSTED_READS = ['.listManagedInstances', '.wait'];

export class CallLatency {
  constructor(private readonly random: Random) {}

  /** Simulated milliseconds the call to `endpoint` takes. */
  draw(endpoint: string, method: string): number {
    const median = !endpoint.startsWith('compute.')
      ? MEDIAN_MS.github
      : method === 'GET' || POSTED_READS.some((suffix) => endpoint.endsWith(suffix))
        ? MEDIAN_MS.computeRead
        : MEDIAN_MS.computeMutation;
    return Math.min(TAIL_MS, median * Math.exp(SIGMA * this.standardNormal()));
  }

  /** Box–Muller; `1 - next()` keeps the logarithm's argument in (0, 1]. */
  private standardNormal(): number {
    const u = 1 - this.random.next();
    const v = this.random.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}
