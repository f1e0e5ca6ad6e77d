// Paces sends on one channel: at most `perSecond` overall, evenly spaced; at most one per
// `addressIntervalMs` to the same address; with optional jitter; and none while the
// channel asked us to wait (a global retry-after).
export interface Pacing {
  perSecond: number;
  addressIntervalMs?: (address: string) => number;
  /** 0.5: each gap grows by up to half of itself, at random. */
  jitter?: number;
}

export class RateLimiter {
  private nextSlot = 0;
  private pausedUntil = 0;
  private readonly nextForAddress = new Map<string, number>();

  constructor(
    private readonly pacing: Pacing | number,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {}

  /** Milliseconds to wait before the next send (to `address`, if given) may go; reserves that slot. */
  reserve(address?: string): number {
    const pacing = typeof this.pacing === 'number' ? { perSecond: this.pacing } : this.pacing;
    const now = this.now();
    let start = Math.max(now, this.nextSlot, this.pausedUntil);
    const gap = (ms: number) => ms * (1 + (pacing.jitter ?? 0) * this.random());
    if (address !== undefined && pacing.addressIntervalMs) {
      start = Math.max(start, this.nextForAddress.get(address) ?? 0);
      this.nextForAddress.set(address, start + gap(pacing.addressIntervalMs(address)));
      if (this.nextForAddress.size > 10_000) this.forgetPast(now);
    }
    this.nextSlot = Number.isFinite(pacing.perSecond) ? start + gap(1000 / pacing.perSecond) : start;
    return start - now;
  }

  pause(ms: number) {
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
  }

  /** Milliseconds left in a pause (0 when not paused). */
  pausedFor(): number {
    return Math.max(0, this.pausedUntil - this.now());
  }

  private forgetPast(now: number) {
    for (const [address, next] of this.nextForAddress) if (next <= now) this.nextForAddress.delete(address);
  }
}
