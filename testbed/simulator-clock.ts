/**
 * The simulator's clock in another process, readable synchronously: refreshed from `/_sim/clock` a few times a
 * second and extrapolated with its speed in between (explicit clock advances show up at the next refresh).
 */
export class SimulatorClockMirror {
  private simMs = 0;
  private realMs = 0;
  private speed = 1;
  private readonly timer: NodeJS.Timeout;

  private constructor(private readonly url: string) {
    this.timer = setInterval(() => void this.refresh().catch(() => undefined), 100);
    this.timer.unref();
  }

  static async start(url: string): Promise<SimulatorClockMirror> {
    const mirror = new SimulatorClockMirror(url);
    await mirror.refresh();
    return mirror;
  }

  now(): Date {
    return new Date(this.simMs + (Date.now() - this.realMs) * this.speed);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async refresh(): Promise<void> {
    const response = await fetch(`${this.url}/_sim/clock`);
    const clock = (await response.json()) as { now: string; speed: number };
    this.simMs = Date.parse(clock.now);
    this.realMs = Date.now();
    this.speed = clock.speed;
  }
}
