// Contacts: import (edge cases, merging, re-import), export of everything about a person,
// and erasure that leaves no trace — checked in a real pg_dump on PostgreSQL.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatSession } from '../bots/console.ts';
import { eraseContact } from '../engine/contacts/erase.ts';
import { everythingAbout, exportContacts } from '../engine/contacts/export.ts';
import { importContacts } from '../engine/contacts/import.ts';
import { backends } from './helpers/database.ts';
import { openTestServices, type TestServices } from './helpers/services.ts';

const dir = mkdtempSync(join(tmpdir(), 'tocsin-contacts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function csv(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe.each(backends)('contacts on $name', (backend) => {
  let services: TestServices;
  beforeAll(async () => {
    services = await openTestServices(backend);
  });
  afterAll(() => services?.close());
  const options = () => ({ defaultLanguage: 'en', languages: services.i18n.languages });

  test('a French spreadsheet: BOM, semicolons, a quoted newline, a bad phone, duplicates merged; re-importing changes nothing', async () => {
    const path = csv(
      `fr-${backend.name}.csv`,
      '\uFEFFname;email;phone;language;groups;consent;city\n' +
        'Amina Haddad;Amina@Example.org;+33 6 12 34 56 78;fr;"volunteers;housing";oui;Lyon\n' +
        '"Omar\nKhalil";omar@example.org;;ar;;yes;Beyrouth\n' +
        'Bad Phone;;12345;en;;no;\n' +
        'Amina H.;amina@example.org;;;staff;yes;\n' +
        'Same phone;;06 12 34 56 78;;;;\n',
    );
    const first = await importContacts(services.db, path, { ...options(), country: 'FR' });
    expect(first).toMatchObject({ rows: 5, created: 2, updated: 0, merged: 2, skipped: 1, errors: [{ line: 5, column: 'phone', reason: '"12345" is not a phone number' }] });
    const data = await everythingAbout(services.db, (await services.db.query<{ contact_id: number }>(`select contact_id from identities where address = 'amina@example.org'`))[0]!.contact_id);
    expect(data.contact).toMatchObject({ name: 'Amina Haddad', language: 'fr', fields: { city: 'Lyon' } });
    expect(data.identities).toEqual(expect.arrayContaining([expect.objectContaining({ channel: 'email', address: 'amina@example.org' }), expect.objectContaining({ channel: 'whatsapp', address: '+33612345678' })]));
    expect(data.groups).toEqual(['housing', 'staff', 'volunteers']);
    expect(data.consents).toEqual(expect.arrayContaining([expect.objectContaining({ channel: 'email', status: 'granted', source: `import:fr-${backend.name}.csv` })]));
    const again = await importContacts(services.db, path, { ...options(), country: 'FR' });
    expect(again).toMatchObject({ created: 0, updated: 0, unchanged: 2, skipped: 1 });
  });

  test('a file longer than one chunk: a duplicate far apart is merged, not counted as an update', async () => {
    const rows = Array.from({ length: 20_001 }, (_, i) => `Far ${i},far${i}@example.org`);
    const path = csv(`far-${backend.name}.csv`, `name,email\n${rows.join('\n')}\nFar again,FAR0@example.org\n`);
    expect(await importContacts(services.db, path, options())).toMatchObject({ rows: 20_002, created: 20_001, merged: 1, updated: 0, unchanged: 0, skipped: 0 });
    expect(await importContacts(services.db, path, options())).toMatchObject({ created: 0, updated: 0, unchanged: 20_001, merged: 1 });
  }, 60_000);

  test("CiviCRM's export headers, a dry run, and a known person found by their chat identity", async () => {
    await new ChatSession(services, 'lina').say('hello');
    await services.db.query(`insert into identities (contact_id, channel, address) select contact_id, 'email', 'lina@example.org' from identities where address = 'lina'`);
    const path = csv(`civi-${backend.name}.csv`, 'first_name,last_name,email,preferred_language,do_not_email\nLina,Saad,lina@example.org,ar_LB,0\nNew,Person,new@example.org,en_US,1\n');
    const dry = await importContacts(services.db, path, { ...options(), dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, created: 1, updated: 1 });
    expect(await services.db.query(`select 1 from identities where address = 'new@example.org'`)).toEqual([]);
    const real = await importContacts(services.db, path, options());
    expect(real).toMatchObject({ created: 1, updated: 1, skipped: 0 });
    const [lina] = await services.db.query(`select c.name, c.language from contacts c join identities i on i.contact_id = c.id where i.address = 'lina'`);
    expect(lina).toEqual({ name: 'Lina Saad', language: 'ar' });
    const [optOut] = await services.db.query(`select k.status from consents k join identities i on i.contact_id = k.contact_id where i.address = 'new@example.org'`);
    expect(optOut).toEqual({ status: 'withdrawn' });
  });

  test('export: every contact as CSV, page by page', async () => {
    const lines: string[] = [];
    const count = await exportContacts(services.db, 'csv', (line) => void lines.push(line));
    expect(lines[0]).toBe('id,name,language,timezone,telegram,whatsapp,email,groups,consent,fields\n');
    expect(lines).toHaveLength(count + 1);
    expect(lines.join('')).toContain('"Omar\nKhalil",ar,,,,omar@example.org,,email,"{""city"":""Beyrouth""}"');
  });

  test('erasure leaves no trace of the name, phone or e-mail, and the counts stay right', async () => {
    const marker = `Zeynep${backend.name}Marker`;
    const path = csv(`erase-${backend.name}.csv`, `name,email,whatsapp,consent\n${marker},${marker.toLowerCase()}@example.org,+33699887766,yes\n`);
    await importContacts(services.db, path, options());
    const [{ contact_id: id }] = await services.db.query<{ contact_id: number }>(`select contact_id from identities where address = $1`, [`${marker.toLowerCase()}@example.org`]);
    // They talk to the bot: survey answers (one free text with their name), messages, an RSVP.
    await services.db.query(`insert into identities (contact_id, channel, address) values ($1, 'console', $2)`, [id, marker]);
    const session = new ChatSession(services, marker);
    for (const text of ['survey', '1', '7', `I am ${marker}, call +33699887766`]) await session.say(text);
    const before = await services.db.query(`select question, count(*)::int as n from survey_answers where flow = 'survey' group by 1 order by 1`);

    await services.db.transaction((tx) => eraseContact(tx, id, 'test'));

    const data = await everythingAbout(services.db, id);
    expect(data.contact).toMatchObject({ name: null, status: 'erased', fields: {} });
    expect(data.identities).toEqual([]);
    expect(await services.db.query(`select question, count(*)::int as n from survey_answers where flow = 'survey' group by 1 order by 1`)).toEqual(before);
    const [audit] = await services.db.query(`select action, details from audit_log where action = 'contact.erase' order by id desc limit 1`);
    expect(audit).toEqual({ action: 'contact.erase', details: { contact: id } });
    // Every text column of every table, searched for the name, the e-mail and the phone.
    const columns = await services.db.query<{ table_name: string; column_name: string }>(
      `select table_name, column_name from information_schema.columns where table_schema = current_schema() and data_type in ('text', 'jsonb')`,
    );
    for (const { table_name, column_name } of columns) {
      const found = await services.db.query(`select 1 from "${table_name}" where "${column_name}"::text ilike any($1::text[]) limit 1`, [[`%${marker}%`, '%33699887766%']]);
      expect({ table: table_name, column: column_name, found: found.length }).toEqual({ table: table_name, column: column_name, found: 0 });
    }
    if (backend.config.kind === 'postgres' && services.schema) {
      const dump = execFileSync('pg_dump', ['--schema', services.schema, '--data-only', backend.config.url], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
      expect(dump.length).toBeGreaterThan(1000);
      expect(dump.toLowerCase()).not.toContain(marker.toLowerCase());
      expect(dump).not.toContain('33699887766');
    }
  });
});

describe('admin API for contacts, and retention', () => {
  test('no route answers without the token; with it: list by segment, one person, export, erase', async () => {
    const { Engine } = await import('../engine/engine.ts');
    const { testConfig } = await import('./helpers/services.ts');
    const { pino } = await import('pino');
    const engine = await Engine.start(testConfig({ port: 0, adminToken: 'admin-token-1234' }), { log: pino({ level: 'silent' }), watch: false });
    try {
      await importContacts(engine.services.db, csv('api.csv', 'name,email,language\nRania,rania@example.org,ar\nPaul,paul@example.org,fr\n'), { defaultLanguage: 'en', languages: engine.services.i18n.languages });
      const get = (path: string, token?: string, method = 'GET') => fetch(`${engine.url}${path}`, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
      for (const path of ['/api/contacts', '/api/contacts/1', '/api/contacts/export', '/api/events']) {
        expect((await get(path)).status).toBe(401);
        expect((await get(path, 'wrong')).status).toBe(401);
      }
      expect((await get('/api/contacts/1', undefined, 'DELETE')).status).toBe(401);
      const list = (await (await get('/api/contacts?segment=language%20%3D%20ar', 'admin-token-1234')).json()) as { contacts: { id: number; name: string }[] };
      expect(list.contacts.map((contact) => contact.name)).toEqual(['Rania']);
      const bad = await get('/api/contacts?segment=lang%20%3D%20ar', 'admin-token-1234');
      expect(bad.status).toBe(422);
      const id = list.contacts[0]!.id;
      expect(((await (await get(`/api/contacts/${id}`, 'admin-token-1234')).json()) as { contact: { name: string } }).contact.name).toBe('Rania');
      const exported = await (await get('/api/contacts/export?format=json', 'admin-token-1234')).text();
      expect(exported.trim().split('\n')).toHaveLength(2);
      expect((await get(`/api/contacts/${id}`, 'admin-token-1234', 'DELETE')).status).toBe(200);
      expect(((await (await get(`/api/contacts/${id}`, 'admin-token-1234')).json()) as { contact: { name: string | null; status: string } }).contact).toMatchObject({ name: null, status: 'erased' });
    } finally {
      await engine.stop();
    }
  });

  test('TOCSIN_RETENTION_DAYS scrubs old message texts and keeps the counts', async () => {
    const { scrubOldTexts } = await import('../engine/scheduler/retention.ts');
    const services = await openTestServices(backends[0]!);
    try {
      await new ChatSession(services, 'old-timer').say('hello there');
      const later = new Date(Date.now() + 31 * 86_400_000);
      expect(await scrubOldTexts(services.db, 30, later)).toBeGreaterThan(0);
      const rows = await services.db.query(`select direction, text from messages where address = 'old-timer' order by id`);
      expect(rows).toEqual([{ direction: 'in', text: null }, { direction: 'out', text: null }]);
    } finally {
      await services.close();
    }
  });
});
