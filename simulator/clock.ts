/** Longest real sleep between two looks at the clock while something waits for a simulated moment. */
const RECHECK_MS = 50;

/**
 * Real milliseconds to sleep before looking at the clock again while waiting for simulated `untilMs` (a call's
 * latency, an operation wait); 0 once that moment has passed, and while time stands still. Re-read after every
 * step, a manual advance or a speed change ends the wait promptly: at a crawling clock speed it would otherwise
 * hold its caller for minutes of real time after the clock was moved past it.
 */
export function realStepMs(untilMs: number, nowMs: number, speed: number): number {
  if (speed <= 0 || untilMs <= nowMs) return 0;
  return Math.min((untilMs - nowMs) / speed, RECHECK_MS);
}

/**
 * Simulated time: start + real elapsed × speed + manual advances. Model events sit in a time-ordered queue
 * and run only when the clock reaches them, in (time, insertion) order, so a run is a pure function of the
 * seed, the requests and the advances.
 */
export class SimClock {
  private readonly realStart: number;
  private manualOffsetMs = 0;
  private speedBase = 0;
  private speedRealStart: number;

  constructor(
    private readonly startMs: number,
    private speed: number,
    private readonly realNow: () => number = () => performance.now(),
  ) {
    this.realStart = this.realNow();
    this.speedRealStart = this.realStart;
  }

  /** Simulated epoch milliseconds. */
  now(): number {
    return Math.floor(
      this.startMs + this.speedBase + (this.realNow() - this.speedRealStart) * this.speed + this.manualOffsetMs,
    );
  }

  getSpeed(): number {
    return this.speed;
  }

  /** Changes the speed from now on without moving the current simulated time. */
  setSpeed(speed: number): void {
    const realNow = this.realNow();
    this.speedBase += (realNow - this.speedRealStart) * this.speed;
    this.speedRealStart = realNow;
    this.speed = speed;
  }

  advance(ms: number): void {
    this.manualOffsetMs += ms;
  }
}

export interface ScheduledEvent<Event> {
  readonly at: number;
  readonly seq: number;
  readonly event: Event;
}

/** A binary min-heap of events ordered by time, then by insertion. */
export class EventQueue<Event> {
  private readonly heap: ScheduledEvent<Event>[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  schedule(at: number, event: Event): void {
    this.heap.push({ at, seq: this.seq++, event });
    this.siftUp(this.heap.length - 1);
  }

  /** Every pending event in the order they will run. */
  ordered(): ScheduledEvent<Event>[] {
    return [...this.heap].sort((a, b) => a.at - b.at || a.seq - b.seq);
  }

  /** Removes and returns the earliest event due at or before `until`. */
  popDue(until: number): ScheduledEvent<Event> | undefined {
    const first = this.heap[0];
    if (first === undefined || first.at > until) return undefined;
    const last = this.heap.pop();
    if (last !== undefined && this.heap.length > 0) {
      this.heap[0] = last;
      this.siftDown(0);
    }
    return first;
  }

  private less(a: number, b: number): boolean {
    const x = this.heap[a];
    const y = this.heap[b];
    if (x === undefined || y === undefined) return false;
    return x.at < y.at || (x.at === y.at && x.seq < y.seq);
  }

  private swap(a: number, b: number): void {
    const x = this.heap[a];
    const y = this.heap[b];
    if (x === undefined || y === undefined) return;
    this.heap[a] = y;
    this.heap[b] = x;
  }

  private siftUp(index: number): void {
    let i = index;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(index: number): void {
    let i = index;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < this.heap.length && this.less(left, smallest)) smallest = left;
      if (right < this.heap.length && this.less(right, smallest)) smallest = right;
      if (smallest === i) return;
      this.swap(i, smallest);
      i = smallest;
    }
  }
}

/** Epoch milliseconds as the APIs write a timestamp (ISO 8601, UTC). */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
