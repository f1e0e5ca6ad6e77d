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
  /**
   * Send times already handed out and not yet past, in order. A send that waits for its
   * chat (one a second per Telegram chat) books a slot in the future without holding up
   * the sends to other chats meanwhile: they take the free slots before it.
   */
  private booked: number[] = [];
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
    const gap = (ms: number) => ms * (1 + (pacing.jitter ?? 0) * this.random());
    let earliest = Math.max(now, this.pausedUntil);
    if (address !== undefined && pacing.addressIntervalMs) earliest = Math.max(earliest, this.nextForAddress.get(address) ?? 0);
    const start = Number.isFinite(pacing.perSecond) ? this.book(earliest, gap(1000 / pacing.perSecond), now) : earliest;
    if (address !== undefined && pacing.addressIntervalMs) {
      this.nextForAddress.set(address, start + gap(pacing.addressIntervalMs(address)));
      if (this.nextForAddress.size > 10_000) this.forgetPast(now);
    }
    return start - now;
  }

  pause(ms: number) {
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
  }

  /** Milliseconds left in a pause (0 when not paused). */
  pausedFor(): number {
    return Math.max(0, this.pausedUntil - this.now());
  }

  /** The first time from `earliest` at least `spacing` away from every booked send; booked. */
  private book(earliest: number, spacing: number, now: number): number {
    this.booked = this.booked.filter((time) => time + spacing > now);
    let time = earliest;
    let index = 0;
    for (; index < this.booked.length; index++) {
      const other = this.booked[index]!;
      if (other + spacing <= time) continue;
      if (other >= time + spacing) break;
      time = other + spacing;
    }
    this.booked.splice(index, 0, time);
    return time;
  }

  private forgetPast(now: number) {
    for (const [address, next] of this.nextForAddress) if (next <= now) this.nextForAddress.delete(address);
  }
}
