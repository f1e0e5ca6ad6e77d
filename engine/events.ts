// Events that supporters RSVP to: created, listed, shown and cancelled by organizers
// (CLI, admin API, Slack). Times are given in the event's own timezone and stored in UTC.
import { TocsinError } from './errors.ts';
import { validTimezone } from './format.ts';
import type { Translator } from './i18n.ts';
import type { Sql } from './store/database.ts';
import type { EventRow } from './store/rsvps.ts';

export interface NewEvent {
  /** One title, or one per language. */
  title: string | Record<string, string>;
  /** Local time in `timezone` (`2030-05-04T18:00`), or an ISO time with an offset. */
  start: string;
  timezone: string;
  end?: string;
  place?: string;
  capacity?: number;
  slug?: string;
  /** RSVPs close then (local time too); default: at the start. */
  deadline?: string;
  /** Seconds before the start to remind those who said yes or maybe (default a day and two hours). */
  reminders?: number[];
  followupFlow?: string;
}

export interface EventSummary {
  id: number;
  slug: string;
  title: string;
  start: string;
  timezone: string;
  place: string | null;
  capacity: number | null;
  status: string;
  counts: { yes: number; no: number; maybe: number; waitlist: number };
}

export interface EventDetails extends EventSummary {
  attendees: { name: string | null; answer: string; waitlisted: boolean; channel: string | null }[];
}

export async function createEvent(sql: Sql, event: NewEvent, defaultLanguage: string): Promise<EventSummary> {
  const timezone = event.timezone;
  if (validTimezone(timezone) !== timezone) throw new TocsinError(`unknown timezone "${timezone}": use an IANA name such as Europe/Paris or Asia/Beirut`);
  const startsAt = toUtc(event.start, timezone, '--start');
  const endsAt = event.end ? toUtc(event.end, timezone, '--end') : null;
  const deadline = event.deadline ? toUtc(event.deadline, timezone, '--deadline') : null;
  if (event.capacity !== undefined && (!Number.isInteger(event.capacity) || event.capacity < 1)) throw new TocsinError('--capacity must be a whole number of seats, 1 or more');
  const title = typeof event.title === 'string' ? { [defaultLanguage]: event.title } : event.title;
  if (!Object.values(title).some((text) => text.trim())) throw new TocsinError('an event needs a title');
  const slug = event.slug ?? (await freeSlug(sql, slugify(Object.values(title)[0]!)));
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(slug)) throw new TocsinError(`slug "${slug}" must be lower-case letters, digits and dashes (it goes into links)`);
  const [row] = await sql.query<{ id: number }>(
    `insert into events (slug, title, starts_at, ends_at, timezone, place, capacity, rsvp_deadline, reminders, followup_flow)
     values ($1, $2::jsonb, $3, $4, $5, $6, $7, $8, $9::jsonb, $10)
     on conflict (slug) do nothing returning id`,
    [slug, JSON.stringify(title), startsAt, endsAt, timezone, event.place ?? null, event.capacity ?? null, deadline, JSON.stringify(event.reminders ?? [86400, 7200]), event.followupFlow ?? null],
  );
  if (!row) throw new TocsinError(`an event with the slug "${slug}" exists already: choose another with --slug`);
  return (await listEvents(sql, defaultLanguage, { id: row.id }))[0]!;
}

export async function listEvents(sql: Sql, language: string, filter: { id?: number; slug?: string; upcoming?: boolean } = {}): Promise<EventSummary[]> {
  const rows = await sql.query<Omit<EventRow, 'rsvp_deadline'> & { yes: number; no: number; maybe: number; waitlist: number }>(
    `select e.id, e.slug, e.title, e.starts_at, e.timezone, e.place, e.capacity, e.status,
            count(r.id) filter (where r.answer = 'yes' and r.waitlisted_at is null)::int as yes,
            count(r.id) filter (where r.answer = 'no')::int as no,
            count(r.id) filter (where r.answer = 'maybe')::int as maybe,
            count(r.id) filter (where r.answer = 'yes' and r.waitlisted_at is not null)::int as waitlist
     from events e left join rsvps r on r.event_id = e.id
     where ($1::bigint is null or e.id = $1) and ($2::text is null or e.slug = $2) and (not $3 or e.starts_at > now())
     group by e.id order by e.starts_at`,
    [filter.id ?? null, filter.slug ?? null, filter.upcoming ?? false],
  );
  return rows.map((row) => ({
    id: row.id,
    slug: row.slug,
    title: row.title[language] ?? Object.values(row.title)[0] ?? row.slug,
    start: row.starts_at.toISOString(),
    timezone: row.timezone,
    place: row.place,
    capacity: row.capacity,
    status: row.status,
    counts: { yes: row.yes, no: row.no, maybe: row.maybe, waitlist: row.waitlist },
  }));
}

/** An event by id or slug, with everyone who answered. */
export async function showEvent(sql: Sql, idOrSlug: string, language: string): Promise<EventDetails> {
  const filter = /^\d+$/.test(idOrSlug) ? { id: Number(idOrSlug) } : { slug: idOrSlug };
  const [event] = await listEvents(sql, language, filter);
  if (!event) throw new TocsinError(`no event "${idOrSlug}" (see tocsin events list)`);
  const attendees = await sql.query<{ name: string | null; answer: string; waitlisted: boolean; channel: string | null }>(
    `select c.name, r.answer, r.waitlisted_at is not null as waitlisted,
            (select i.channel from identities i where i.contact_id = c.id order by i.id limit 1) as channel
     from rsvps r join contacts c on c.id = r.contact_id where r.event_id = $1
     order by r.answer = 'yes' desc, r.waitlisted_at nulls first, r.id`,
    [event.id],
  );
  for (const attendee of attendees) attendee.name = sql.cipher.open(attendee.name);
  return { ...event, attendees };
}

/** Cancels an event and tells everyone who said yes or maybe, in their language. Returns how many were told. */
export async function cancelEvent(sql: Sql, idOrSlug: string, i18n: Translator): Promise<number> {
  const event = await showEvent(sql, idOrSlug, i18n.defaultLanguage);
  if (event.status === 'cancelled') return 0;
  await sql.query(`update events set status = 'cancelled' where id = $1`, [event.id]);
  const people = await sql.query<{ contact_id: number; language: string | null; name: string | null; timezone: string | null; channel: string; address: string; title: Record<string, string>; starts_at: Date; event_timezone: string }>(
    `select r.contact_id, c.language, c.name, c.timezone, pick.channel, pick.address, e.title, e.starts_at, e.timezone as event_timezone
     from rsvps r join contacts c on c.id = r.contact_id join events e on e.id = r.event_id
     join lateral (select i.channel, i.address from identities i where i.contact_id = c.id and i.stopped_at is null
                   order by (select max(m.id) from messages m where m.contact_id = c.id and m.channel = i.channel and m.direction = 'in') desc nulls last, i.id limit 1) pick on true
     where r.event_id = $1 and r.answer in ('yes', 'maybe')`,
    [event.id],
  );
  const rows = people.map((person) => {
    const language = i18n.pickLanguage(person.language);
    const text = i18n.render('common.event_cancelled', language, {
      contact: { id: person.contact_id, name: sql.cipher.open(person.name), language, timezone: person.timezone },
      event: { title: person.title[language] ?? Object.values(person.title)[0], starts_at: person.starts_at, timezone: person.event_timezone },
    });
    return { contact: person.contact_id, channel: person.channel, address: person.address, body: sql.cipher.sealJson({ text, language }) };
  });
  if (rows.length) {
    await sql.query(
      `insert into outbox (contact_id, channel, address, kind, priority, body)
       select (r->>'contact')::bigint, r->>'channel', r->>'address', 'notice', 0, r->'body' from jsonb_array_elements($1::jsonb) as r`,
      [JSON.stringify(rows)],
    );
  }
  return rows.length;
}

/** `2030-05-04T18:00` in `timezone` → UTC; an ISO time with an offset or Z is taken as it is. */
export function toUtc(text: string, timezone: string, option = 'the time'): Date {
  const withOffset = /(Z|[+-]\d{2}:?\d{2})$/i.test(text.trim());
  const match = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?/.exec(text.trim());
  if (!match) throw new TocsinError(`${option} "${text}" is not a date and time: write it like 2030-05-04T18:00 (in the event's timezone)`);
  if (withOffset) {
    const date = new Date(text);
    if (Number.isNaN(date.getTime())) throw new TocsinError(`${option} "${text}" is not a valid time`);
    return date;
  }
  const [year, month, day, hour, minute, second] = match.slice(1).map((part) => Number(part ?? 0)) as number[];
  const wall = Date.UTC(year!, month! - 1, day!, hour!, minute!, second ?? 0);
  // The offset of the zone at that moment; a second pass settles DST changes.
  let utc = wall - offsetMs(wall, timezone);
  utc = wall - offsetMs(utc, timezone);
  return new Date(utc);
}

/** How far `timezone` is ahead of UTC at `instant`. */
function offsetMs(instant: number, timezone: string): number {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone: timezone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' })
      .formatToParts(new Date(instant))
      .map((part) => [part.type, Number(part.value)]),
  );
  return Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!) - Math.floor(instant / 1000) * 1000;
}

function slugify(title: string): string {
  const slug = title
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return slug || 'event';
}

async function freeSlug(sql: Sql, base: string): Promise<string> {
  const taken = new Set((await sql.query<{ slug: string }>(`select slug from events where slug = $1 or slug like $2`, [base, `${base}-%`])).map((row) => row.slug));
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) if (!taken.has(`${base}-${n}`)) return `${base}-${n}`;
}

/** The event as an iCalendar file (RFC 5545), for supporters' calendars. */
export function eventIcs(event: { slug: string; title: string; start: string; end?: string | null; place?: string | null }, host: string): string {
  const stamp = (iso: string) => iso.replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const start = new Date(event.start);
  const end = event.end ? new Date(event.end) : new Date(start.getTime() + 2 * 3600_000);
  const escape = (text: string) => text.replace(/\\/g, '\\\\').replace(/;/g, '\\;').replace(/,/g, '\\,').replace(/\r?\n/g, '\\n');
  const lines = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//Tocsin//Events//EN',
    'CALSCALE:GREGORIAN',
    'METHOD:PUBLISH',
    'BEGIN:VEVENT',
    `UID:${event.slug}@${host}`,
    `DTSTAMP:${stamp(new Date().toISOString())}`,
    `DTSTART:${stamp(start.toISOString())}`,
    `DTEND:${stamp(end.toISOString())}`,
    `SUMMARY:${escape(event.title)}`,
    ...(event.place ? [`LOCATION:${escape(event.place)}`] : []),
    'END:VEVENT',
    'END:VCALENDAR',
  ];
  // Lines of at most 75 octets, folded with CRLF + space.
  return `${lines.map(fold).join('\r\n')}\r\n`;
}

function fold(line: string): string {
  const bytes = Buffer.from(line);
  if (bytes.length <= 75) return line;
  const parts: string[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = Math.min(bytes.length, start + (parts.length ? 74 : 75));
    while (end < bytes.length && (bytes[end]! & 0xc0) === 0x80) end--; // never cut inside a character
    parts.push(bytes.subarray(start, end).toString());
    start = end;
  }
  return parts.join('\r\n ');
}
