// Event reminders (by default a day and two hours before the start, to those who said yes
// or maybe) and follow-ups (after the event, to those who said yes). Each item is claimed
// by inserting its event_reminders row — unique per event, contact and kind — in the same
// transaction as its outbox row, so it goes out once whichever engine process gets there
// first. An item more than the grace window late (the engine was down) is recorded as
// skipped, not sent: no "see you in two hours" after the event started.
import type { InboundPipeline } from '../pipeline/inbound.ts';
import type { Translator } from '../i18n.ts';
import type { Sql } from '../store/database.ts';

export interface ReminderOutcome {
  sent: number;
  skipped: number;
  followups: number;
}

/** How long after an event's start (or end) follow-ups begin. */
const FOLLOWUP_AFTER_MS = 60 * 60_000;

interface Due {
  event_id: number;
  contact_id: number;
  kind: string;
  due_at: Date;
  starts_at: Date;
  title: Record<string, string>;
  timezone: string;
  place: string | null;
  name: string | null;
  language: string | null;
  contact_timezone: string | null;
  channel: string | null;
  address: string | null;
  followup_flow: string | null;
}

export async function sendDueReminders(
  deps: { db: Sql & { transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T> }; i18n: Translator; pipeline?: InboundPipeline },
  now = new Date(),
  graceMs = 30 * 60_000,
): Promise<ReminderOutcome> {
  const { db, i18n } = deps;
  const outcome: ReminderOutcome = { sent: 0, skipped: 0, followups: 0 };
  const followups: Due[] = [];
  await db.transaction(async (tx) => {
    const due = await tx.query<Due>(
      `with items as (
         select e.id as event_id, r.contact_id, 'reminder:' || offsets.seconds as kind, e.starts_at - make_interval(secs => offsets.seconds::float8) as due_at
         from events e cross join lateral jsonb_array_elements_text(e.reminders) as offsets(seconds)
         join rsvps r on r.event_id = e.id and (r.answer = 'maybe' or (r.answer = 'yes' and r.waitlisted_at is null))
         where e.status = 'scheduled' and e.starts_at - make_interval(secs => offsets.seconds::float8) <= $1
           and e.starts_at > $1 - interval '1 day'
         union all
         select e.id, r.contact_id, 'followup', coalesce(e.ends_at, e.starts_at) + make_interval(secs => $2)
         from events e join rsvps r on r.event_id = e.id and r.answer = 'yes' and r.waitlisted_at is null
         where e.status = 'scheduled' and e.followup_flow is not null and coalesce(e.ends_at, e.starts_at) + make_interval(secs => $2) <= $1
           and coalesce(e.ends_at, e.starts_at) > $1 - interval '2 days')
       select items.*, e.starts_at, e.title, e.timezone, e.place, e.followup_flow, c.name, c.language, c.timezone as contact_timezone, pick.channel, pick.address
       from items join events e on e.id = items.event_id join contacts c on c.id = items.contact_id
       left join lateral (select i.channel, i.address from identities i where i.contact_id = c.id and i.stopped_at is null
                          order by (select max(m.id) from messages m where m.contact_id = c.id and m.channel = i.channel and m.direction = 'in') desc nulls last, i.id limit 1) pick on true
       where not exists (select 1 from event_reminders x where x.event_id = items.event_id and x.contact_id = items.contact_id and x.kind = items.kind)
       order by items.due_at limit 500`,
      [now, FOLLOWUP_AFTER_MS / 1000],
    );
    if (!due.length) return;
    const decided = due.map((item) => {
      const late = now.getTime() - item.due_at.getTime() > graceMs;
      const over = item.kind.startsWith('reminder:') && now.getTime() >= item.starts_at.getTime();
      return { item, status: late || over || !item.channel ? 'skipped' : 'sent' };
    });
    // The claim: whoever inserts the row first sends the item.
    const claimed = await tx.query<{ event_id: number; contact_id: number; kind: string }>(
      `insert into event_reminders (event_id, contact_id, kind, due_at, status)
       select (d->>'event_id')::bigint, (d->>'contact_id')::bigint, d->>'kind', (d->>'due_at')::timestamptz, d->>'status'
       from jsonb_array_elements($1::jsonb) as d
       on conflict (event_id, contact_id, kind) do nothing
       returning event_id, contact_id, kind`,
      [JSON.stringify(decided.map(({ item, status }) => ({ event_id: item.event_id, contact_id: item.contact_id, kind: item.kind, due_at: item.due_at, status })))],
    );
    const mine = new Set(claimed.map((row) => `${row.event_id}:${row.contact_id}:${row.kind}`));
    const rows = [];
    for (const { item, status } of decided) {
      if (!mine.has(`${item.event_id}:${item.contact_id}:${item.kind}`)) continue;
      if (status === 'skipped') {
        outcome.skipped++;
        continue;
      }
      if (item.kind === 'followup') {
        followups.push(item);
        continue;
      }
      const language = i18n.pickLanguage(item.language);
      const text = i18n.render('common.event_reminder', language, {
        contact: { id: item.contact_id, name: tx.cipher.open(item.name), language, timezone: item.contact_timezone },
        event: { title: item.title[language] ?? item.title[i18n.defaultLanguage] ?? Object.values(item.title)[0], starts_at: item.starts_at, timezone: item.timezone, place: item.place },
      });
      rows.push({ contact: item.contact_id, channel: item.channel, address: item.address, body: tx.cipher.sealJson({ text, language }) });
      outcome.sent++;
    }
    if (rows.length) {
      await tx.query(
        `insert into outbox (contact_id, channel, address, kind, priority, body)
         select (r->>'contact')::bigint, r->>'channel', r->>'address', 'reminder', 1, r->'body' from jsonb_array_elements($1::jsonb) as r`,
        [JSON.stringify(rows)],
      );
    }
  });
  // Follow-ups start a flow: each in its own transaction, once the claim is committed.
  for (const item of followups) {
    if (!deps.pipeline || !item.followup_flow || !item.channel) continue;
    const language = i18n.pickLanguage(item.language);
    const title = item.title[language] ?? item.title[i18n.defaultLanguage] ?? Object.values(item.title)[0];
    await deps.pipeline.startFlow({ channel: item.channel, address: item.address!, stored: true }, item.followup_flow, { event: item.event_id, event_title: title }).catch(() => {});
    outcome.followups++;
  }
  return outcome;
}
