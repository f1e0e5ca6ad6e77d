// Events: times in their timezone, capacity under concurrency, the waiting list,
// cancellation, reminders with an injected clock, quiet hours, the calendar file.
import { pino } from 'pino';
import { quietUntil } from '../engine/delivery/quiet-hours.ts';
import { DeliveryWorker } from '../engine/delivery/worker.ts';
import { Engine } from '../engine/engine.ts';
import { cancelEvent, createEvent, eventIcs, showEvent, toUtc } from '../engine/events.ts';
import { Metrics } from '../engine/metrics.ts';
import { sendDueReminders } from '../engine/scheduler/reminders.ts';
import { Scheduler } from '../engine/scheduler/index.ts';
import { openDatabase } from '../engine/store/database.ts';
import { recordRsvp } from '../engine/store/rsvps.ts';
import { backends } from './helpers/database.ts';
import { FakeChannel } from './helpers/fake-channel.ts';
import { openTestServices, testConfig, type TestServices } from './helpers/services.ts';

describe('times in the event timezone', () => {
  test.each([
    ['2030-05-04T18:00', 'Europe/Paris', '2030-05-04T16:00:00.000Z'], // summer time, UTC+2
    ['2030-01-04T18:00', 'Europe/Paris', '2030-01-04T17:00:00.000Z'], // winter time, UTC+1
    ['2030-03-31T03:30', 'Europe/Paris', '2030-03-31T01:30:00.000Z'], // the morning the clocks go forward
    ['2030-10-27T01:30', 'Europe/Paris', '2030-10-26T23:30:00.000Z'], // the night they go back
    ['2030-05-04T18:00', 'Europe/Moscow', '2030-05-04T15:00:00.000Z'], // UTC+3 all year
    ['2030-07-01T09:00', 'Asia/Beirut', '2030-07-01T06:00:00.000Z'],
    ['2030-05-04T18:00Z', 'Asia/Beirut', '2030-05-04T18:00:00.000Z'], // an explicit offset wins
  ])('%s in %s is %s', (local, zone, utc) => {
    expect(toUtc(local, zone).toISOString()).toBe(utc);
  });
});

describe('quiet hours', () => {
  const night = { start: 21, end: 8 };
  test.each([
    ['2030-05-04T19:30:00Z', 'Europe/Paris', '2030-05-05T06:00:00.000Z'], // 21:30 in Paris → 08:00 next morning
    ['2030-05-04T17:00:00Z', 'Europe/Paris', undefined], // 19:00 in Paris: fine
    ['2030-03-30T21:30:00Z', 'Europe/Paris', '2030-03-31T06:00:00.000Z'], // across the spring-forward night
    ['2030-05-04T02:00:00Z', 'Europe/Moscow', '2030-05-04T05:00:00.000Z'], // 05:00 in Moscow → 08:00
    ['2030-05-04T19:00:00Z', 'Asia/Beirut', '2030-05-05T05:00:00.000Z'], // 22:00 in Beirut (UTC+3 in summer)
  ])('at %s in %s, waits until %s', (now, zone, until) => {
    expect(quietUntil(new Date(now), zone, night)?.toISOString()).toBe(until);
  });
});

test('the calendar file (RFC 5545)', () => {
  const ics = eventIcs({ slug: 'town-hall', title: 'Town hall; bring friends, please', start: '2030-05-04T16:00:00.000Z', place: 'Mairie du 11e' }, 'bot.example.org');
  const lines = ics.split('\r\n');
  expect(lines.slice(0, 5)).toEqual(['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Tocsin//Events//EN', 'CALSCALE:GREGORIAN', 'METHOD:PUBLISH']);
  expect(lines).toContain('UID:town-hall@bot.example.org');
  expect(lines).toContain('DTSTART:20300504T160000Z');
  expect(lines).toContain('DTEND:20300504T180000Z');
  expect(lines).toContain('SUMMARY:Town hall\\; bring friends\\, please');
  expect(lines).toContain('LOCATION:Mairie du 11e');
  expect(ics.endsWith('END:VEVENT\r\nEND:VCALENDAR\r\n')).toBe(true);
  expect(lines.every((line) => Buffer.byteLength(line) <= 75)).toBe(true);
});

describe.each(backends)('events on $name', (backend) => {
  let services: TestServices;
  beforeAll(async () => {
    services = await openTestServices(backend);
  });
  afterAll(() => services?.close());

  async function people(count: number, prefix: string, language = 'en', timezone: string | null = null): Promise<number[]> {
    const rows = await services.db.query<{ id: number }>(
      `insert into contacts (name, language, timezone) select $2 || n, $3, $4 from generate_series(1, $1::int) as n returning id`,
      [count, prefix, language, timezone],
    );
    await services.db.query(`insert into identities (contact_id, channel, address) select id, 'console', 'c' || id from contacts where id = any($1::bigint[])`, [rows.map((row) => row.id)]);
    return rows.map((row) => row.id);
  }

  test('200 supporters answer yes at the same moment for 50 seats: 50 confirmed, 150 waiting, in order', async () => {
    const event = await createEvent(services.db, { title: 'Rally', start: '2031-06-01T15:00', timezone: 'Europe/Paris', capacity: 50, slug: 'rally' }, 'en');
    const ids = await people(200, 'rally');
    // On PostgreSQL each answer has its own connection, as with many engine processes.
    const databases = backend.config.kind === 'postgres' ? await Promise.all(Array.from({ length: 4 }, () => openDatabase(backend.config, { schema: services.schema, poolSize: 12 }))) : [services.db];
    try {
      const outcomes = await Promise.all(ids.map((id, i) => databases[i % databases.length]!.transaction((tx) => recordRsvp(tx, 'rally', id, 'yes'))));
      expect(outcomes.filter((outcome) => outcome.status === 'confirmed')).toHaveLength(50);
      const waiting = outcomes.filter((outcome) => outcome.status === 'waitlisted').map((outcome) => (outcome as { position: number }).position);
      expect(waiting.sort((a, b) => a - b)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    } finally {
      if (databases[0] !== services.db) await Promise.all(databases.map((database) => database.close()));
    }
    const shown = await showEvent(services.db, 'rally', 'en');
    expect(shown.counts).toEqual({ yes: 50, no: 0, maybe: 0, waitlist: 150 });
    expect(shown.id).toBe(event.id);
  });

  test('a cancellation gives the seat to the first on the waiting list, who is told at once', async () => {
    await createEvent(services.db, { title: 'Training', start: '2031-06-02T10:00', timezone: 'Europe/Moscow', capacity: 1, slug: 'training' }, 'en');
    const [first, second, third] = await people(3, 'trainee', 'ru');
    for (const id of [first!, second!, third!]) await services.db.transaction((tx) => recordRsvp(tx, 'training', id, 'yes'));
    const outcome = await services.db.transaction((tx) => recordRsvp(tx, 'training', first!, 'no'));
    expect(outcome).toMatchObject({ status: 'declined', promoted: [second] });
    expect((await showEvent(services.db, 'training', 'en')).counts).toEqual({ yes: 1, no: 1, maybe: 0, waitlist: 1 });
  });

  test('answers close at the deadline; a cancelled event tells those who said yes or maybe', async () => {
    await createEvent(services.db, { title: 'Past', start: '2020-01-01T10:00', timezone: 'UTC', slug: 'past' }, 'en');
    const [late] = await people(1, 'late');
    expect(await services.db.transaction((tx) => recordRsvp(tx, 'past', late!, 'yes'))).toMatchObject({ status: 'closed' });

    await createEvent(services.db, { title: 'Picnic', start: '2031-07-01T12:00', timezone: 'Asia/Beirut', slug: 'picnic' }, 'en');
    const [yes, maybe, no] = await people(3, 'picnic', 'ar');
    await services.db.transaction((tx) => recordRsvp(tx, 'picnic', yes!, 'yes'));
    await services.db.transaction((tx) => recordRsvp(tx, 'picnic', maybe!, 'maybe'));
    await services.db.transaction((tx) => recordRsvp(tx, 'picnic', no!, 'no'));
    expect(await services.db.transaction((tx) => cancelEvent(tx, 'picnic', services.i18n))).toBe(2);
    const notices = await services.db.query<{ text: string }>(`select body->>'text' as text from outbox where contact_id = any($1::bigint[]) order by id`, [[yes, maybe, no]]);
    expect(notices.map((notice) => notice.text)).toEqual(Array(2).fill('نأسف: أُلغيت \u2068Picnic\u2069 التي كانت مقرّرة يوم \u2068الثلاثاء، 1 يوليو في 12:00 م\u2069.'));
  });

  test('reminders: on time, once, in language and timezone; skipped when too late; not to the waiting list or those who said no', async () => {
    const event = await createEvent(services.db, { title: 'Assembly', start: '2032-03-10T18:00', timezone: 'Europe/Paris', capacity: 2, slug: 'assembly', place: 'Bourse du travail' }, 'en');
    // Montreal is still on winter time (UTC-5) on 10 March 2032; Paris too (UTC+1).
    const [fr, en, waiting] = await people(3, 'assembly', 'fr', 'America/Montreal');
    const [maybe, no] = await people(2, 'assembly-other', 'ru', 'Europe/Moscow');
    for (const [id, answer] of [[fr, 'yes'], [en, 'yes'], [waiting, 'yes'], [maybe, 'maybe'], [no, 'no']] as const) await services.db.transaction((tx) => recordRsvp(tx, 'assembly', id!, answer));
    await services.db.query(`update contacts set language = 'en' where id = $1`, [en]);
    const start = new Date(event.start).getTime();
    const run = (at: number) => sendDueReminders(services, new Date(at), 30 * 60_000);
    const reminded = async () => (await services.db.query<{ contact_id: number; text: string }>(`select contact_id, body->>'text' as text from outbox where kind = 'reminder' order by id`)).filter((row) => [fr, en, waiting, maybe, no].includes(row.contact_id));

    expect(await run(start - 25 * 3600_000)).toEqual({ sent: 0, skipped: 0, followups: 0 }); // not yet due
    expect(await run(start - 24 * 3600_000 + 60_000)).toEqual({ sent: 3, skipped: 0, followups: 0 }); // the day before
    expect(await run(start - 24 * 3600_000 + 120_000)).toEqual({ sent: 0, skipped: 0, followups: 0 }); // already sent
    const texts = (await reminded()).map((row) => row.text);
    expect(texts).toEqual(
      expect.arrayContaining([
        'Petit rappel, assembly1 : Assembly, le mercredi 10 mars à 12:00, à Bourse du travail. À bientôt !',
        'Reminder, assembly2: Assembly is on Wednesday, March 10 at 12:00 PM, at Bourse du travail. See you there!',
        'Напоминаем, assembly-other1: Assembly, среда, 10 марта в 20:00, место: Bourse du travail. До встречи!',
      ]),
    );
    // The engine was down from 2 h 10 before to 1 h 10 before: the 2-hour reminder is an hour late: skipped.
    expect(await run(start - 70 * 60_000)).toEqual({ sent: 0, skipped: 3, followups: 0 });
    expect(await reminded()).toHaveLength(3);
  });

  test('two engines running the reminder job at once send each reminder once', async () => {
    await createEvent(services.db, { title: 'Vigil', start: '2033-01-10T18:00', timezone: 'UTC', slug: 'vigil', reminders: [3600] }, 'en');
    const ids = await people(30, 'vigil');
    for (const id of ids) await services.db.transaction((tx) => recordRsvp(tx, 'vigil', id, 'yes'));
    const at = new Date('2033-01-10T17:01:00Z');
    const second = backend.config.kind === 'postgres' ? await openDatabase(backend.config, { schema: services.schema }) : services.db;
    try {
      const [a, b] = await Promise.all([sendDueReminders({ ...services }, at), sendDueReminders({ db: second, i18n: services.i18n }, at)]);
      expect(a.sent + b.sent).toBe(30);
    } finally {
      if (second !== services.db) await second.close();
    }
    const [{ count }] = await services.db.query<{ count: number }>(`select count(*)::int as count from outbox where kind = 'reminder' and contact_id = any($1::bigint[])`, [ids]);
    expect(count).toBe(30);
  });

  test('after the event, attendees get the follow-up flow', async () => {
    await createEvent(services.db, { title: 'Workshop', start: '2033-02-01T10:00', timezone: 'UTC', slug: 'workshop', followupFlow: 'followup', reminders: [] }, 'en');
    const [attendee] = await people(1, 'workshop');
    await services.db.transaction((tx) => recordRsvp(tx, 'workshop', attendee!, 'yes'));
    expect(await sendDueReminders(services, new Date('2033-02-01T11:30:00Z'))).toEqual({ sent: 0, skipped: 0, followups: 1 });
    const [row] = await services.db.query<{ text: string }>(`select body->>'text' as text from outbox where contact_id = $1`, [attendee]);
    expect(row!.text).toBe('How was Workshop? Did you make it?');
  });

  test('bulk messages and reminders wait for the morning in the contact timezone; urgent alerts do not', async () => {
    const channel = new FakeChannel('quiet');
    const [sleeper] = await people(1, 'sleeper', 'en', 'Europe/Paris');
    await services.db.query(`insert into outbox (contact_id, channel, address, kind, priority, body) values ($1, 'quiet', 'a', 'bulk', 1, '{"text": "night alert"}'), ($1, 'quiet', 'b', 'bulk', 1, '{"text": "urgent", "urgent": true}')`, [sleeper]);
    const now = new Date('2030-05-04T21:30:00Z'); // 23:30 in Paris
    const worker = new DeliveryWorker({ db: services.db, channels: [channel], log: pino({ level: 'silent' }), metrics: new Metrics(), settings: testConfig().delivery, quiet: { hours: { start: 21, end: 8 }, defaultTimezone: 'UTC' }, now: () => now });
    worker.start();
    for (let i = 0; i < 100 && channel.sent.length < 1; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    await worker.stop();
    expect(channel.sent.map((sent) => sent.message.text)).toEqual(['urgent']);
    const [held] = await services.db.query<{ status: string; next_attempt_at: Date; attempts: number }>(`select status, next_attempt_at, attempts from outbox where address = 'a' and channel = 'quiet'`);
    expect(held).toEqual({ status: 'held', next_attempt_at: new Date('2030-05-05T06:00:00Z'), attempts: 0 });
  });
});

test('the scheduler runs its jobs on bree, in the engine thread', async () => {
  const runs: string[] = [];
  const engine = await Engine.start(testConfig({ port: 0 }), { log: pino({ level: 'silent' }), watch: false });
  try {
    const scheduler = new Scheduler(engine.services, [{ name: 'probe', every: '200ms', run: async () => void runs.push('probe') }]);
    await scheduler.start();
    for (let i = 0; i < 100 && runs.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    await scheduler.stop();
    expect(runs.length).toBeGreaterThanOrEqual(2);
    // The calendar file is served for scheduled events.
    await createEvent(engine.services.db, { title: 'Open day', start: '2031-09-01T10:00', timezone: 'Europe/Paris', slug: 'open-day' }, 'en');
    const response = await fetch(`${engine.url}/events/open-day.ics`);
    expect(response.headers.get('content-type')).toBe('text/calendar; charset=utf-8');
    expect(await response.text()).toContain('DTSTART:20310901T080000Z');
    expect((await fetch(`${engine.url}/events/nothing.ics`)).status).toBe(404);
  } finally {
    await engine.stop();
  }
});
