// Conversations as data: every tests/conversations/*.yaml is typed into the console
// channel against the real store, and each bot reply must match, in order.
//
// A fixture may set up the store first (`setup: { events: [...], contact: {...} }`) and
// may start a flow as a broadcast would (`- start: { flow: alert, vars: {...} }`).
// UPDATE_FIXTURES=1 rewrites the expected replies from what the bot says (then read
// the diff before committing it).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { ChatSession } from '../bots/console.ts';
import { generateKey, parseKey } from '../engine/store/cipher.ts';
import { backends } from './helpers/database.ts';
import { openTestServices, ROOT, type TestServices } from './helpers/services.ts';

interface Turn {
  send?: string | number;
  start?: { flow: string; vars?: Record<string, unknown> };
  replies?: string[];
}

interface Fixture {
  lang?: string;
  setup?: {
    events?: { slug: string; title: Record<string, string>; starts_at: string; timezone: string; capacity?: number; place?: string }[];
    contact?: { name?: string; language?: string; timezone?: string };
    /** Other supporters who already said yes to an event: the first `capacity` get seats, the rest wait. */
    rsvps?: { event: string; count: number }[];
  };
  conversation: Turn[];
}

const dir = join(ROOT, 'tests/conversations');
const update = process.env.UPDATE_FIXTURES === '1';
const fixtures = readdirSync(dir)
  .filter((file) => file.endsWith('.yaml'))
  .map((file) => ({ file, fixture: parseDocument(readFileSync(join(dir, file), 'utf8')).toJS() as Fixture }));

async function prepare(services: TestServices, user: string, fixture: Fixture) {
  const { db } = services;
  const setup = fixture.setup ?? {};
  if (setup.events) {
    await db.query(`delete from events`);
    for (const event of setup.events) {
      await db.query(`insert into events (slug, title, starts_at, timezone, capacity, place) values ($1, $2::jsonb, $3, $4, $5, $6)`, [
        event.slug,
        JSON.stringify(event.title),
        event.starts_at,
        event.timezone,
        event.capacity ?? null,
        event.place ?? null,
      ]);
    }
    for (const { event, count } of setup.rsvps ?? []) {
      await db.query(
        `with event as (select id, capacity from events where slug = $1),
              people as (insert into contacts (name) select 'attendee ' || n from generate_series(1, $2::int) as n returning id)
         insert into rsvps (event_id, contact_id, answer, waitlisted_at)
         select event.id, people.id, 'yes',
                case when row_number() over (order by people.id) > coalesce(event.capacity, $2::int) then now() - interval '1 hour' + (people.id * interval '1 second') end
         from people, event`,
        [event, count],
      );
    }
    services.pipeline.deps.flowData.invalidate();
  }
  if (setup.contact) {
    const [{ id }] = await db.query<{ id: number }>(`insert into contacts (name, language, timezone) values ($1, $2, $3) returning id`, [
      db.cipher.seal(setup.contact.name ?? null),
      setup.contact.language ?? null,
      setup.contact.timezone ?? null,
    ]);
    await db.query(`insert into identities (contact_id, channel, address, address_sealed) values ($1, 'console', $2, $3)`, [
      id,
      db.cipher.index('console', user),
      db.cipher.enabled ? db.cipher.seal(user) : null,
    ]);
  }
}

// Every conversation again with encryption at rest: sealing must change nothing people see.
const variants = [
  ...backends.map((backend) => ({ label: backend.name, backend, encryption: undefined })),
  { label: 'pglite with TOCSIN_ENCRYPTION_KEY', backend: backends[0]!, encryption: { key: parseKey(generateKey()), oldKeys: [] } },
];

describe.each(variants)('conversations on $label', ({ backend, encryption }) => {
  let services: TestServices;
  beforeAll(async () => {
    services = await openTestServices(backend, { config: { encryption } });
  });
  afterAll(() => services?.close());

  test.each(fixtures)('$file', async ({ file, fixture }) => {
    const user = file.replace(/\.yaml$/, '');
    await prepare(services, user, fixture);
    const session = new ChatSession(services, user, fixture.lang);
    const actual: string[][] = [];
    for (const [index, turn] of fixture.conversation.entries()) {
      const messages = turn.start ? await session.start(turn.start.flow, turn.start.vars) : await session.say(String(turn.send));
      const replies = messages.map((message) => message.text);
      actual.push(replies);
      if (!update) expect({ turn: index + 1, send: turn.send, replies }).toEqual({ turn: index + 1, send: turn.send, replies: turn.replies ?? [] });
    }
    if (update && backend.name === 'pglite' && !encryption) {
      const path = join(dir, file);
      const document = parseDocument(readFileSync(path, 'utf8'));
      actual.forEach((replies, index) => document.setIn(['conversation', index, 'replies'], replies));
      writeFileSync(path, document.toString({ lineWidth: 0 }));
    }
  });
});
