// Paces sends on one channel: at most `perSecond`, evenly spaced, and none while the
// channel asked us to wait (a global retry-after).
export class RateLimiter {
  private nextSlot = 0;
  private pausedUntil = 0;

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds to wait before the next send may go; reserves that slot. */
  reserve(): number {
    const now = this.now();
    const start = Math.max(now, this.nextSlot, this.pausedUntil);
    this.nextSlot = Number.isFinite(this.perSecond) ? start + 1000 / this.perSecond : start;
    return start - now;
  }

  pause(ms: number) {
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
  }

  /** Milliseconds left in a pause (0 when not paused). */
  pausedFor(): number {
    return Math.max(0, this.pausedUntil - this.now());
  }
}
