// Encryption at rest (TOCSIN_ENCRYPTION_KEY): what a copy of the database shows without
// the key, that the engine still finds people by their address, that a wrong key or no
// key fails in one clear line, and that `keys rotate` moves everything to a new key.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatSession } from '../bots/console.ts';
import type { Config, DatabaseConfig } from '../engine/config.ts';
import { Engine } from '../engine/engine.ts';
import { everythingAbout, exportContacts } from '../engine/contacts/export.ts';
import { importContacts } from '../engine/contacts/import.ts';
import { silentLogger } from '../engine/log.ts';
import { SegmentError } from '../engine/segments.ts';
import { openServices, type Services } from '../engine/services.ts';
import { Cipher, generateKey, parseKey } from '../engine/store/cipher.ts';
import { openDatabase } from '../engine/store/database.ts';
import { rotateKeys } from '../engine/store/encryption.ts';
import { tocsin } from './helpers/cli.ts';
import { FakeTelegram } from './helpers/fake-telegram.ts';
import { waitFor } from './helpers/wait.ts';
import { backends, createSchema, dropSchema, type Backend } from './helpers/database.ts';
import { testConfig } from './helpers/services.ts';

const dir = mkdtempSync(join(tmpdir(), 'tocsin-encryption-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const firstKey = generateKey();
const secondKey = generateKey();
const keys = (key?: string, old: string[] = []): Config['encryption'] => ({ key: key ? parseKey(key) : undefined, oldKeys: old.map((text) => parseKey(text)) });

// What must not appear anywhere in the stored data.
const NAME = 'Zeynep Kaya';
const EMAIL = 'zeynep.kaya@example.org';
const PHONE = '33699887766';
const CHAT_USER = 'kaya-chat-7781';
const TYPED = 'my neighbour Selin can help too';

describe.each(backends)('encryption at rest on $name', (backend) => {
  // One database for the whole file, reopened with other keys: a schema on PostgreSQL,
  // a data directory for the embedded database.
  let database: DatabaseConfig;
  let schema: string | undefined;
  let services: Services | undefined;
  const open = async (encryption: Config['encryption']) => {
    await services?.delivery.stop();
    await services?.db.close();
    services = undefined;
    services = await openServices(testConfig({ database, encryption }), { log: silentLogger(), database: { schema } });
    return services;
  };
  beforeAll(async () => {
    if (backend.config.kind === 'postgres') {
      database = backend.config;
      schema = await createSchema(backend.config.url);
    } else {
      database = { kind: 'embedded', dataDir: mkdtempSync(join(dir, 'data-')) };
    }
  });
  afterAll(async () => {
    await services?.delivery.stop();
    await services?.db.close();
    if (schema && backend.config.kind === 'postgres') await dropSchema(backend.config.url, schema);
  });

  test('a copy of the database shows no name, address, field or text; the engine still finds everyone', async () => {
    const { db, i18n } = await open(keys(firstKey));
    const file = join(dir, `people-${backend.name}.csv`);
    writeFileSync(file, `name,email,whatsapp,city,consent\n${NAME},${EMAIL.toUpperCase()},+${PHONE},Izmir,yes\n`);
    const options = { defaultLanguage: 'en', languages: i18n.languages };
    expect(await importContacts(db, file, options)).toMatchObject({ created: 1, skipped: 0 });
    // Dedupe works on blind indexes: the same file again changes nothing.
    expect(await importContacts(db, file, options)).toMatchObject({ created: 0, updated: 0, unchanged: 1 });

    const session = new ChatSession(services!, CHAT_USER);
    expect((await session.say('JOIN')).map((reply) => reply.text)).toEqual(['Welcome! What is your name?']);
    await session.say(NAME);
    await session.say('2');
    await session.say('1');
    expect((await session.say('yes')).map((reply) => reply.text).join()).toContain(NAME);
    for (const text of ['survey', '1', '7', TYPED]) await session.say(text);
    // The second message found the contact the first one created.
    expect(await db.query(`select count(*)::int as n from identities where channel = 'console'`)).toEqual([{ n: 1 }]);

    await expectNoPlainText(db, backend, schema, [NAME, EMAIL, PHONE, CHAT_USER, TYPED, 'Izmir']);

    // With the key, everything reads back as it was written.
    const [{ contact_id: chatter }] = await db.query<{ contact_id: number }>(`select contact_id from identities where channel = 'console'`);
    const about = (await everythingAbout(db, chatter)) as { contact: { name: string }; identities: { address: string }[]; messages: { text: string }[]; survey_answers: { value_text: string }[]; outbox: { text: string }[] };
    expect(about.contact.name).toBe(NAME);
    expect(about.identities.map((identity) => identity.address)).toEqual([CHAT_USER]);
    expect(about.messages.map((message) => message.text)).toEqual(expect.arrayContaining(['JOIN', TYPED, 'Welcome! What is your name?']));
    expect(about.survey_answers.map((answer) => answer.value_text)).toContain(TYPED);
    expect(about.outbox.map((row) => row.text)).toContain('Welcome! What is your name?');
    const lines: string[] = [];
    await exportContacts(db, 'csv', (line) => void lines.push(line));
    expect(lines.join('')).toContain(`${NAME},,,,'+${PHONE},${EMAIL},,email;whatsapp,"{""city"":""Izmir""}"`);

    // STOP finds the identity by its index too.
    await session.say('STOP');
    expect(await db.query(`select stopped_at is not null as stopped from identities where channel = 'console'`)).toEqual([{ stopped: true }]);
    await session.say('START');

    // Segments cannot look inside encrypted columns: said plainly, with the position.
    await expect(services!.broadcasts.preview('name ~ Zey', { text: 'hi' })).rejects.toThrow(SegmentError);
    await expect(services!.broadcasts.preview('city = Izmir', { text: 'hi' })).rejects.toThrow('city is encrypted (TOCSIN_ENCRYPTION_KEY is set)');
    expect((await services!.broadcasts.preview('consent = email', { text: 'hi' })).matching).toBe(1);
  });

  test('the wrong key, or none, fails in one clear line; a sealed value does not open with another key', async () => {
    await expect(open(keys(secondKey))).rejects.toThrow(/^TOCSIN_ENCRYPTION_KEY \(key \w{8}\) is not the key this database is encrypted with \(key \w{8}\); to change keys/);
    await expect(open(undefined)).rejects.toThrow(/^the database is encrypted \(key \w{8}\): set TOCSIN_ENCRYPTION_KEY to its key$/);
    const sealed = Cipher.fromSecrets(parseKey(firstKey)).seal(NAME);
    expect(() => Cipher.fromSecrets(parseKey(secondKey)).open(sealed)).toThrow(/is not among the configured keys/);
    const tampered = sealed.slice(0, -4) + (sealed.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    expect(() => Cipher.fromSecrets(parseKey(firstKey)).open(tampered)).toThrow(/does not decrypt: the data was altered or damaged/);
    expect(() => parseKey('not a key')).toThrow('TOCSIN_ENCRYPTION_KEY must be 32 random bytes');
  });

  test('keys rotate: everything moves to the new key, and the engine finds everyone with it alone', async () => {
    await services?.delivery.stop();
    await services?.db.close();
    services = undefined;
    const before = await readWith(database, schema, Cipher.fromSecrets(parseKey(firstKey)));
    const rotating = await openDatabase(database, { schema, cipher: Cipher.fromSecrets(parseKey(secondKey), [parseKey(firstKey)]) });
    try {
      const summary = await rotateKeys(rotating);
      expect(summary.keyId).toBe(Cipher.fromSecrets(parseKey(secondKey)).keyId);
      expect(summary.rewritten.identities).toBe(3);
    } finally {
      await rotating.close();
    }
    const { db } = await open(keys(secondKey));
    // Nothing is left under the first key (but inbound message ids: see docs/privacy.md).
    const firstId = Cipher.fromSecrets(parseKey(firstKey)).keyId!;
    const columns = await textColumns(db);
    for (const { table_name, column_name } of columns) {
      if (table_name === 'messages' && column_name === 'channel_message_id') continue;
      const [left] = await db.query(`select count(*)::int as n from "${table_name}" where "${column_name}"::text like $1`, [`%:v1:${firstId}:%`]);
      expect({ table_name, column_name, ...left }).toEqual({ table_name, column_name, n: 0 });
    }
    expect(await readWith(database, schema, db.cipher, db)).toEqual(before);
    const session = new ChatSession(services!, CHAT_USER);
    expect((await session.say('JOIN')).map((reply) => reply.text).join()).toContain(NAME);
    expect(await db.query(`select count(*)::int as n from identities where channel = 'console'`)).toEqual([{ n: 1 }]);
    await expectNoPlainText(db, backend, schema, [NAME, EMAIL, PHONE, CHAT_USER, TYPED, 'Izmir']);
  });

  test('keys rotate with old keys only: back to plain text, and the engine runs without a key', async () => {
    await services?.delivery.stop();
    await services?.db.close();
    services = undefined;
    const decrypting = await openDatabase(database, { schema, cipher: Cipher.fromSecrets(undefined, [parseKey(secondKey)]) });
    try {
      expect((await rotateKeys(decrypting)).keyId).toBeUndefined();
    } finally {
      await decrypting.close();
    }
    const { db } = await open(undefined);
    expect(await db.query(`select address, address_sealed from identities where channel = 'console'`)).toEqual([{ address: CHAT_USER, address_sealed: null }]);
    // The conversation left waiting for a language goes on where it was: state and contact found.
    expect((await new ChatSession(services!, CHAT_USER).say('hmm')).map((reply) => reply.text).join()).toContain('2) English');
    expect((await everythingAbout(db, (await db.query<{ contact_id: number }>(`select contact_id from identities where channel = 'console'`))[0]!.contact_id)).contact).toMatchObject({ name: NAME });
  });
});

async function textColumns(db: Services['db']) {
  return db.query<{ table_name: string; column_name: string }>(
    `select table_name, column_name from information_schema.columns where table_schema = current_schema() and data_type in ('text', 'jsonb', 'bytea')`,
  );
}

/** Every text and JSON column of every table, and on PostgreSQL a real pg_dump, searched for `secrets`. */
async function expectNoPlainText(db: Services['db'], backend: Backend, schema: string | undefined, secrets: string[]) {
  const patterns = secrets.map((secret) => `%${secret}%`);
  for (const { table_name, column_name } of await textColumns(db)) {
    const found = await db.query(`select 1 from "${table_name}" where "${column_name}"::text ilike any($1::text[]) limit 1`, [patterns]);
    expect({ table: table_name, column: column_name, found: found.length }).toEqual({ table: table_name, column: column_name, found: 0 });
  }
  if (backend.config.kind === 'postgres' && schema) {
    const dump = execFileSync('pg_dump', ['--schema', schema, '--data-only', backend.config.url], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }).toLowerCase();
    expect(dump).toContain('enc:v1:');
    for (const secret of secrets) expect(dump).not.toContain(secret.toLowerCase());
  }
}

/** What a person's export says, for every contact (the same before and after a rotation). */
async function readWith(database: DatabaseConfig, schema: string | undefined, cipher: Cipher, open?: Services['db']) {
  const db = open ?? (await openDatabase(database, { schema, cipher }));
  try {
    const ids = await db.query<{ id: number }>(`select id from contacts order by id`);
    const all = [];
    for (const { id } of ids) {
      const about = (await everythingAbout(db, id)) as Record<string, Record<string, unknown>[]> & { contact: Record<string, unknown> };
      all.push({ contact: about.contact, identities: about.identities!.map(({ channel, address, display_name }) => ({ channel, address, display_name })), messages: about.messages, survey: about.survey_answers, conversations: about.conversations, outbox: about.outbox });
    }
    return all;
  } finally {
    if (!open) await db.close();
  }
}

describe('tocsin keys, as a person runs it', () => {
  test('generate a key, encrypt a database that holds plain data, export with the key, refuse without', async () => {
    const env = { TOCSIN_DATA_DIR: mkdtempSync(join(dir, 'cli-')) };
    const generated = await tocsin(['keys', 'generate'], env);
    expect(generated.stdout).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
    const key = generated.stdout.trim();
    await tocsin(['chat', '--user', CHAT_USER], env, `join\n${NAME}\n`);

    const refused = await tocsin(['contacts', 'export'], { ...env, TOCSIN_ENCRYPTION_KEY: key });
    expect(refused.stderr).toMatch(/^tocsin: the database holds contacts stored without encryption: stop the engine and run `npx tocsin keys rotate` once/);
    const rotated = await tocsin(['keys', 'rotate'], { ...env, TOCSIN_ENCRYPTION_KEY: key });
    expect(rotated.stdout).toMatch(/identities: 1 rows\n[\s\S]*everything is now sealed with key [0-9a-f]{8}\n$/);

    expect((await tocsin(['contacts', 'export'], { ...env, TOCSIN_ENCRYPTION_KEY: key })).stdout).toContain(`,${NAME},`);
    const withoutKey = await tocsin(['contacts', 'export'], env);
    expect(withoutKey.code).toBe(1);
    expect(withoutKey.stderr).toMatch(/^tocsin: the database is encrypted \(key [0-9a-f]{8}\): set TOCSIN_ENCRYPTION_KEY to its key\n$/);
    expect((await tocsin(['keys', 'rotate'], { ...env, TOCSIN_ENCRYPTION_KEY: 'short' })).stderr).toBe(
      'tocsin: TOCSIN_ENCRYPTION_KEY must be 32 random bytes written as 64 hex digits or base64 (make one with: npx tocsin keys generate)\n',
    );
  }, 120_000);
});

describe('encrypted, through a real channel', () => {
  test('Telegram replies and a personalized alert reach the right chat; the chat id is stored only sealed', async () => {
    const fake = new FakeTelegram();
    await fake.start();
    const config = testConfig({ port: 0, telegram: { token: fake.token, apiRoot: fake.url, rateLimit: 30 }, encryption: keys(firstKey) });
    const engine = await Engine.start(config, { log: silentLogger(), watch: false });
    try {
      const user = { id: 990_001, first_name: 'Selin', language_code: 'en' };
      fake.userSays(user, '/start');
      await waitFor(() => fake.sentTo(user.id).length === 1);
      for (const [text, replies] of [['Selin Aydin', 2], ['2', 3], ['1', 4], ['yes', 5]] as const) {
        fake.userSays(user, text);
        await waitFor(() => fake.sentTo(user.id).length === replies);
      }
      expect(fake.sentTo(user.id).at(-1)!.text).toContain('Selin Aydin');
      const { db, broadcasts } = engine.services;
      const id = await broadcasts.create('cli', 'channel = telegram', { text: 'Hi {{contact.name}}, march at 6 pm.' });
      expect(await broadcasts.start(id)).toBe(1);
      await waitFor(() => fake.sentTo(user.id).length === 6);
      expect(fake.sentTo(user.id).at(-1)!.text).toBe('Hi Selin Aydin, march at 6 pm.');
      const [identity] = await db.query<{ address: string; address_sealed: string; display_name: string }>(`select address, address_sealed, display_name from identities where channel = 'telegram'`);
      expect(identity!.address).toMatch(/^idx:v1:[0-9a-f]{8}:/);
      expect(identity!.address_sealed).toMatch(/^enc:v1:[0-9a-f]{8}:/);
      expect(db.cipher.open(identity!.address_sealed)).toBe(String(user.id));
      for (const { table_name, column_name } of await textColumns(db)) {
        const found = await db.query(`select 1 from "${table_name}" where "${column_name}"::text like any($1::text[]) limit 1`, [[`%${user.id}%`, '%Selin%']]);
        expect({ table_name, column_name, found: found.length }).toEqual({ table_name, column_name, found: 0 });
      }
    } finally {
      await engine.stop();
      await fake.stop();
    }
  }, 60_000);
});
