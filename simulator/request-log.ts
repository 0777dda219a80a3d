/** What the simulator counts and logs of the Compute and GitHub requests it answers, for tests and benchmarks. */
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

  /** The sequence number the next mutation gets, for a snapshot. */
  get nextSeq(): number {
    return this.seq;
  }

  /** Takes up a snapshot's counters and mutation log. */
  restore(counters: Record<string, EndpointCounter>, mutations: readonly MutationLogEntry[], nextSeq: number): void {
    this.counters = new Map(Object.entries(counters));
    this.mutations.splice(0, this.mutations.length, ...mutations);
    this.seq = nextSeq;
  }

  logMutation(entry: Omit<MutationLogEntry, 'seq'>): void {
    this.mutations.push({ seq: this.seq++, ...entry });
  }
}
