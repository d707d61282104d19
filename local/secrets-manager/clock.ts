/** Time source of the twin. Injected so tests can move time instead of waiting for it. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** A listener told that the clock moved, so the scheduler can look for due rotations. */
export type ClockListener = () => void;

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/**
 * A clock that only moves when told to. `advance` notifies listeners synchronously: the
 * scheduler starts due rotations before `advance` returns (they then run in the background;
 * await `rotations.settled()`).
 */
export class ManualClock implements Clock {
  private current: number;
  private readonly listeners = new Set<ClockListener>();

  constructor(start: number | Date = Date.UTC(2026, 0, 1)) {
    this.current = typeof start === 'number' ? start : start.getTime();
  }

  /** Current time in milliseconds since the epoch. */
  now(): number {
    return this.current;
  }

  /** Moves time forward by `ms` and notifies listeners. */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('advance(ms) needs a finite ms >= 0');
    this.current += ms;
    this.tick();
  }

  /** Sets an absolute time (never backwards) and notifies listeners. */
  set(time: number | Date): void {
    const next = typeof time === 'number' ? time : time.getTime();
    if (next < this.current) throw new RangeError('ManualClock cannot go backwards');
    this.current = next;
    this.tick();
  }

  /** Notifies listeners without moving time (e.g. after changing a schedule). */
  tick(): void {
    for (const listener of this.listeners) listener();
  }

  /** Registers a listener; returns a function that removes it. */
  onAdvance(listener: ClockListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** True when the clock can notify the scheduler itself (no polling timer needed). */
export function isManualClock(clock: Clock): clock is ManualClock {
  return clock instanceof ManualClock;
}
