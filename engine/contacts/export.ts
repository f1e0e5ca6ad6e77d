// Giving people their data back. `everythingAbout(id)`: all Tocsin holds about one person
// (the right of access). `exportContacts`: every contact, page by page (constant memory,
// whatever the size of the list), as CSV or JSON lines.
import { csvField } from '../results.ts';
import type { Sql } from '../store/database.ts';
import { TocsinError } from '../errors.ts';

const PAGE = 1000;

export async function everythingAbout(sql: Sql, id: number): Promise<Record<string, unknown>> {
  const { cipher } = sql;
  const [contact] = await sql.query(`select id, name, language, timezone, status, fields, created_at, updated_at, last_seen_at from contacts where id = $1`, [id]);
  if (!contact) throw new TocsinError(`no contact ${id}`);
  const all = (text: string) => sql.query(text, [id]);
  // What was sealed (TOCSIN_ENCRYPTION_KEY) is given back opened: the person gets their data, not ciphertext.
  const opened = (rows: Record<string, any>[], open: (row: Record<string, any>) => Record<string, unknown>) => rows.map((row) => ({ ...row, ...open(row) }));
  return {
    contact: { ...contact, name: cipher.open(contact.name), fields: cipher.openFields(contact.fields) },
    identities: opened(await all(`select channel, address, address_sealed, display_name, stopped_at, held_at, bounces, created_at from identities where contact_id = $1 order by id`), ({ address, address_sealed, display_name }) => ({
      address: address_sealed ? cipher.open(address_sealed) : address,
      address_sealed: undefined,
      display_name: cipher.open(display_name),
    })),
    groups: (await all(`select g.name from memberships m join groups g on g.id = m.group_id where m.contact_id = $1 order by g.name`)).map((row) => row.name),
    consents: await all(`select channel, status, source, wording, created_at from consents where contact_id = $1 order by id`),
    rsvps: await all(`select e.slug as event, r.answer, r.waitlisted_at is not null as waitlisted, r.updated_at from rsvps r join events e on e.id = r.event_id where r.contact_id = $1 order by r.id`),
    survey_answers: opened(await all(`select flow, question, type, value_text, value_number, value_choices, updated_at from survey_answers where contact_id = $1 order by id`), ({ value_text }) => ({ value_text: cipher.open(value_text) })),
    conversations: opened(await all(`select flow, step, status, vars, answers, created_at, updated_at from conversations where contact_id = $1 order by id`), ({ vars, answers }) => ({ vars: cipher.openJson(vars), answers: cipher.openJson(answers) })),
    messages: opened(await all(`select direction, channel, text, status, created_at from messages where contact_id = $1 order by id`), ({ text }) => ({ text: cipher.open(text) })),
    outbox: opened(await all(`select channel, kind, body, status, created_at, sent_at from outbox where contact_id = $1 order by id`), ({ body }) => ({ body: undefined, text: cipher.openJson<{ text?: string }>(body).text ?? null })),
  };
}

const COLUMNS = ['id', 'name', 'language', 'timezone', 'telegram', 'whatsapp', 'email', 'groups', 'consent', 'fields'];

/** Every contact, in pages: `write` gets each line (CSV with a header, or one JSON object per line). */
export async function exportContacts(sql: Sql, format: 'csv' | 'json', write: (line: string) => void | Promise<void>): Promise<number> {
  if (format === 'csv') await write(`${COLUMNS.join(',')}\n`);
  let after = 0;
  let count = 0;
  for (;;) {
    const rows = await sql.query<{ id: number; name: string | null; language: string | null; timezone: string | null; fields: Record<string, unknown>; identities: { channel: string; address: string }[] | null; groups: string[] | null; consents: string[] | null }>(
      `select c.id, c.name, c.language, c.timezone, c.fields,
              (select jsonb_agg(jsonb_build_object('channel', i.channel, 'address', coalesce(i.address_sealed, i.address)) order by i.id) from identities i where i.contact_id = c.id) as identities,
              (select array_agg(g.name order by g.name) from memberships m join groups g on g.id = m.group_id where m.contact_id = c.id) as groups,
              (select array_agg(distinct k.channel) from consents k where k.contact_id = c.id
                 and k.id = (select max(x.id) from consents x where x.contact_id = c.id and x.channel = k.channel) and k.status = 'granted') as consents
       from contacts c where c.id > $1 and c.status = 'active' order by c.id limit ${PAGE}`,
      [after],
    );
    if (!rows.length) return count;
    for (const row of rows) {
      row.name = sql.cipher.open(row.name);
      row.fields = sql.cipher.openFields(row.fields);
      for (const identity of row.identities ?? []) identity.address = sql.cipher.open(identity.address);
      const on = (channel: string) => (row.identities ?? []).filter((identity) => identity.channel === channel).map((identity) => identity.address).join(';');
      if (format === 'json') {
        await write(`${JSON.stringify({ id: row.id, name: row.name, language: row.language, timezone: row.timezone, identities: row.identities ?? [], groups: row.groups ?? [], consent: row.consents ?? [], fields: row.fields })}\n`);
      } else {
        const values = [row.id, row.name ?? '', row.language ?? '', row.timezone ?? '', on('telegram'), on('whatsapp'), on('email'), (row.groups ?? []).join(';'), (row.consents ?? []).join(';'), JSON.stringify(row.fields)];
        await write(`${values.map(csvField).join(',')}\n`);
      }
    }
    count += rows.length;
    after = rows.at(-1)!.id;
  }
}
