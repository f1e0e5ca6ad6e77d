// Bounces: a hard bounce (5.x.x) puts the address on hold at once, a soft one (4.x.x)
// after three in a row. Nothing is sent to a held address; what waited for it is cancelled.
import type { Bounce } from '../../bots/email/inbound.ts';
import type { Database } from '../store/database.ts';

export const SOFT_BOUNCES_BEFORE_HOLD = 3;

export async function recordBounce(db: Database, bounce: Bounce): Promise<'held' | 'counted' | 'unknown'> {
  const address = db.cipher.index('email', bounce.address);
  return db.transaction(async (tx) => {
    const [identity] = await tx.query<{ held: boolean }>(
      `update identities set bounces = bounces + 1,
              held_at = coalesce(held_at, case when $2 or bounces + 1 >= $3 then now() end)
       where channel = 'email' and address = $1 returning held_at is not null as held`,
      [address, bounce.hard, SOFT_BOUNCES_BEFORE_HOLD],
    );
    if (!identity) return 'unknown';
    if (!identity.held) return 'counted';
    await tx.query(`update outbox set status = 'cancelled', last_error = $2 where channel = 'email' and address = $1 and status in ('pending', 'held')`, [address, `address on hold: bounced (${bounce.status})`]);
    return 'held';
  });
}
