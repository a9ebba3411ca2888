/**
 * The controller's notion of time, injected so tests control schedules without waiting real minutes.
 *
 * `now()` is the time schedules and deadlines are computed in; `realDelay(ms)` turns a wait in that
 * time into a real delay for the work queue's requeue-after. The system clock is the identity.
 */
export interface Clock {
  now(): Date;
  realDelay(ms: number): number;
}

export const systemClock: Clock = {
  now: () => new Date(),
  realDelay: (ms) => ms,
};

/**
 * A clock that starts at `start` and runs `speed` times faster than real time; `advance` jumps it
 * forward. Tests use it as fake timers that still let real components (API server, Argo) run.
 */
export class ScaledClock implements Clock {
  private readonly realStart = Date.now();
  private offsetMs = 0;

  constructor(
    private readonly start: Date,
    readonly speed: number,
  ) {}

  now(): Date {
    return new Date(this.start.getTime() + (Date.now() - this.realStart) * this.speed + this.offsetMs);
  }

  realDelay(ms: number): number {
    return Math.max(0, Math.ceil(ms / this.speed));
  }

  advance(ms: number): void {
    this.offsetMs += ms;
  }
}
