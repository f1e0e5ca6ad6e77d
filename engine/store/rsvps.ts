// RSVPs with capacity and a waiting list. The event's row is locked while an answer is
// recorded, so many supporters answering at once never overbook: a `yes` beyond capacity
// waits, in order, and a seat freed by a cancellation goes to the first who waits.
import type { Sql } from './database.ts';

export type RsvpAnswer = 'yes' | 'no' | 'maybe';

export interface EventRow {
  id: number;
  slug: string;
  title: Record<string, string>;
  starts_at: Date;
  timezone: string;
  place: string | null;
  capacity: number | null;
  rsvp_deadline: Date | null;
  status: string;
}

export type RsvpOutcome =
  | { status: 'confirmed' | 'declined' | 'maybe'; event: EventRow; promoted: number[] }
  | { status: 'waitlisted'; event: EventRow; position: number; promoted: number[] }
  | { status: 'unknown_event' }
  | { status: 'closed'; event: EventRow };

export async function recordRsvp(tx: Sql, slug: string, contactId: number, answer: RsvpAnswer, now = new Date()): Promise<RsvpOutcome> {
  const [event] = await tx.query<EventRow>(
    `select id, slug, title, starts_at, timezone, place, capacity, rsvp_deadline, status from events where slug = $1 for update`,
    [slug],
  );
  if (!event) return { status: 'unknown_event' };
  const deadline = event.rsvp_deadline ?? event.starts_at;
  if (event.status !== 'scheduled' || deadline.getTime() <= now.getTime()) return { status: 'closed', event };

  const [previous] = await tx.query<{ answer: string; waitlisted_at: Date | null }>(`select answer, waitlisted_at from rsvps where event_id = $1 and contact_id = $2`, [event.id, contactId]);
  let waitlisted = false;
  if (answer === 'yes') {
    // Someone already confirmed (or already waiting) keeps their place.
    if (previous?.answer === 'yes') waitlisted = previous.waitlisted_at !== null;
    else if (event.capacity !== null) waitlisted = (await confirmedCount(tx, event.id)) >= event.capacity;
  }
  // The waiting list is in the order answers got the event's lock: the database's clock
  // at this moment, not the time the request started.
  await tx.query(
    `insert into rsvps (event_id, contact_id, answer, waitlisted_at) values ($1, $2, $3, case when $4 then clock_timestamp() end)
     on conflict (event_id, contact_id) do update set answer = excluded.answer,
       waitlisted_at = case when excluded.answer = 'yes' and rsvps.answer = 'yes' then rsvps.waitlisted_at else excluded.waitlisted_at end,
       updated_at = now()`,
    [event.id, contactId, answer, waitlisted],
  );
  const promoted = previous?.answer === 'yes' && previous.waitlisted_at === null && answer !== 'yes' ? await promoteFromWaitlist(tx, event) : [];
  if (answer === 'no') return { status: 'declined', event, promoted };
  if (answer === 'maybe') return { status: 'maybe', event, promoted };
  if (!waitlisted) return { status: 'confirmed', event, promoted };
  const [{ position }] = await tx.query<{ position: number }>(
    `select count(*)::int as position from rsvps where event_id = $1 and answer = 'yes' and waitlisted_at is not null
       and (waitlisted_at, id) <= (select waitlisted_at, id from rsvps where event_id = $1 and contact_id = $2)`,
    [event.id, contactId],
  );
  return { status: 'waitlisted', event, position, promoted };
}

async function confirmedCount(tx: Sql, eventId: number): Promise<number> {
  const [{ count }] = await tx.query<{ count: number }>(`select count(*)::int as count from rsvps where event_id = $1 and answer = 'yes' and waitlisted_at is null`, [eventId]);
  return count;
}

/** Fills free seats from the waiting list, first come first served. Returns who got a seat. */
async function promoteFromWaitlist(tx: Sql, event: EventRow): Promise<number[]> {
  if (event.capacity === null) return [];
  const free = event.capacity - (await confirmedCount(tx, event.id));
  if (free <= 0) return [];
  const rows = await tx.query<{ contact_id: number }>(
    `update rsvps set waitlisted_at = null, updated_at = now()
     where id in (select id from rsvps where event_id = $1 and answer = 'yes' and waitlisted_at is not null order by waitlisted_at, id limit $2)
     returning contact_id`,
    [event.id, free],
  );
  return rows.map((row) => row.contact_id);
}
