import type { FleetDefinition } from '../runner-config/types.js';
import type { Behaviours } from './behaviours.js';
import { EventQueue, type SimClock } from './clock.js';
import { FaultInjector } from './faults.js';
import type { FleetEvent, FleetEventHandlers } from './fleet-events.js';
import type {
  JobAction,
  JobCounts,
  JobPool,
  SimInstance,
  SimJob,
  SimMig,
  SimOperation,
  SimRunner,
  SimTemplate,
} from './fleet-types.js';
import type { ModelOptions } from './options.js';
import { Random } from './random.js';
import { ReleaseStore } from './releases.js';
import { RunnerPresence } from './runner-presence.js';

/**
 * The state of the simulated fleet that every part of the model reads and changes: the entities by name or id,
 * the ids handed out, and the queue of time-ordered events with the simulated time they run at. It holds no rule:
 * the mutation API (fleet-model.ts) and the parts it drives (instance-lifecycle.ts, mig-reconciler.ts,
 * job-scheduler.ts) decide what changes.
 */
export class FleetStore {
  readonly fleet: FleetDefinition;
  readonly faults: FaultInjector;
  readonly releases = new ReleaseStore();
  readonly templates = new Map<string, SimTemplate>();
  readonly migs = new Map<string, SimMig>();
  readonly migsByRegion = new Map<string, SimMig[]>();
  readonly instancesByName = new Map<string, SimInstance>();
  readonly runners = new Map<number, SimRunner>();
  readonly pools = new Map<string, JobPool>();
  readonly operations = new Map<string, SimOperation>();
  readonly operationsByRequestId = new Map<string, SimOperation>();
  /** Jobs killed mid-run (proactive replacement, deletion, scale-in), oldest first. */
  readonly killedJobs: SimJob[] = [];
  readonly recentJobs: SimJob[] = [];
  readonly jobCountsByTemplate = new Map<string, JobCounts>();
  readonly timings: ModelOptions['timings'];
  /** Seeds the random streams of the API layers too, so their choices repeat with the run. */
  readonly seed: number;
  readonly presence: RunnerPresence;
  /** Which production behaviours are on; switched at run time through `setBehaviours`. */
  behaviours: Behaviours;
  /** Told of every job transition, synchronously, while the job is in that state (webhook deliveries). */
  jobListener: ((action: JobAction, job: SimJob) => void) | undefined;
  /** Operation durations, apart from the other streams so slow operations never shift job arrivals. */
  readonly operationRandom: Random;
  /** Early returns of operation waits, apart from durations so how often a client waits changes no duration. */
  readonly waitRandom: Random;

  private readonly events = new EventQueue<FleetEvent>();
  private handlers: FleetEventHandlers | undefined;
  private current: number;
  private ids: { -readonly [K in keyof IdCounters]: number } = { resource: 1, runner: 1, job: 1 };

  constructor(
    readonly clock: SimClock,
    options: ModelOptions,
  ) {
    this.fleet = options.fleet;
    this.timings = options.timings;
    this.seed = options.seed;
    this.presence = new RunnerPresence(new Random(options.seed, 'presence'));
    this.current = clock.now();
    this.operationRandom = new Random(options.seed, 'operations');
    this.waitRandom = new Random(options.seed, 'operationWaits');
    this.faults = new FaultInjector(new Random(options.seed, 'faults'));
    this.behaviours = options.behaviours;
  }

  /** The simulated time of the step being processed (epoch ms). */
  now(): number {
    return this.current;
  }

  /** Runs every event due by the clock's current time, in time order. Returns how many ran. */
  catchUp(): number {
    const until = Math.max(this.clock.now(), this.current);
    let processed = 0;
    for (let event = this.events.popDue(until); event !== undefined; event = this.events.popDue(until)) {
      this.current = event.at;
      this.run(event.event);
      processed++;
    }
    this.current = until;
    return processed;
  }

  advance(seconds: number): number {
    this.clock.advance(seconds * 1000);
    return this.catchUp();
  }

  pendingEvents(): number {
    return this.events.size;
  }

  /** Runs `event` once simulated time reaches `at` (epoch ms); events due at the same time run in the order scheduled. */
  schedule(at: number, event: FleetEvent): void {
    this.events.schedule(at, event);
  }

  /** Every pending event with its time, in the order they will run. */
  scheduledEvents(): Array<{ readonly at: number; readonly event: FleetEvent }> {
    return this.events.ordered().map(({ at, event }) => ({ at, event }));
  }

  newId(): string {
    return String(4_000_000_000_000 + this.ids.resource++);
  }

  /** GitHub never reuses a runner's id. */
  newRunnerId(): number {
    return this.ids.runner++;
  }

  newJobId(): number {
    return this.ids.job++;
  }

  /** The next ids to hand out, for a snapshot. */
  idCounters(): IdCounters {
    return { ...this.ids };
  }

  /** Takes up a snapshot's ids, and the time of the step it was taken in. */
  restoreCounters(ids: IdCounters, current: number): void {
    this.ids = { ...ids };
    this.current = current;
  }

  /** The parts of the model that act on events register here, one handler per kind. */
  protected handleEvents(handlers: FleetEventHandlers): void {
    this.handlers = handlers;
  }

  private run(event: FleetEvent): void {
    if (this.handlers === undefined) throw new Error('no handlers for the fleet events');
    (this.handlers[event.kind] as (event: FleetEvent) => void)(event);
  }
}

export interface IdCounters {
  readonly resource: number;
  readonly runner: number;
  readonly job: number;
}
