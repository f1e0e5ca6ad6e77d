// Which key the database is sealed with, checked at every start, and `tocsin keys rotate`,
// which moves every sealed value and blind index to the current key (or, with no current
// key, back to plain text).
import { TocsinError } from '../errors.ts';
import { FREE_TEXT_ANSWERS } from '../pipeline/turn.ts';
import type { Cipher } from './cipher.ts';
import type { Database, Sql } from './database.ts';

const PAGE = 1000;
const FREE_TEXT_TYPES = `type in (${[...FREE_TEXT_ANSWERS].map((type) => `'${type}'`).join(', ')})`;

/**
 * Refuses to run with the wrong key, or none on an encrypted database, or a key on a
 * database that holds plain data (the blind indexes would not find anyone). A new
 * database takes the key it is first opened with.
 */
export async function checkEncryptionKey(db: Database): Promise<void> {
  const { cipher } = db;
  const [recorded] = await db.query<{ key_id: string }>(`select key_id from encryption_keys where retired_at is null`);
  if (recorded?.key_id === cipher.keyId) return;
  if (recorded && !cipher.enabled) {
    throw new TocsinError(`the database is encrypted (key ${recorded.key_id}): set TOCSIN_ENCRYPTION_KEY to its key`);
  }
  if (recorded) {
    throw new TocsinError(
      `TOCSIN_ENCRYPTION_KEY (key ${cipher.keyId}) is not the key this database is encrypted with (key ${recorded.key_id}); ` +
        'to change keys, stop the engine and run: TOCSIN_OLD_ENCRYPTION_KEYS=<old key> npx tocsin keys rotate',
    );
  }
  if (!cipher.enabled) return;
  const [held] = await db.query<{ any: boolean }>(`select exists (select 1 from identities) or exists (select 1 from contacts) as any`);
  if (held!.any) {
    throw new TocsinError('the database holds contacts stored without encryption: stop the engine and run `npx tocsin keys rotate` once to encrypt them with TOCSIN_ENCRYPTION_KEY');
  }
  await db.query(`insert into encryption_keys (key_id) values ($1) on conflict do nothing`, [cipher.keyId]);
}

export interface RotationSummary {
  /** The key everything is sealed with now; undefined when the data is now plain text. */
  keyId?: string;
  /** Rows rewritten, per table. */
  rewritten: Record<string, number>;
}

/**
 * Re-seals every sealed value and recomputes every blind index with the current key, in
 * one transaction (all or nothing; run it again if it was interrupted). Values sealed with
 * any configured key, or not sealed at all, are read. The engine must be stopped: a
 * process still on the old key would no longer find anyone.
 */
export async function rotateKeys(db: Database, onTable?: (table: string, rows: number) => void): Promise<RotationSummary> {
  const { cipher } = db;
  const rewritten: Record<string, number> = {};
  const done = (table: string, rows: number) => {
    rewritten[table] = rows;
    onTable?.(table, rows);
  };
  await db.transaction(async (tx) => {
    // Identities first: their new blind indexes say how to rewrite the addresses the
    // messages and the outbox carry.
    await tx.query(`create temporary table rekeyed (channel text, old text, new text) on commit drop`);
    done(
      'identities',
      await rewrite(tx, 'identities', ['channel', 'address', 'address_sealed', 'display_name'], 'true', async (rows) => {
        const changes = rows.map((row) => {
          const address = row.address_sealed ? cipher.open(row.address_sealed) : row.address;
          const index = cipher.index(row.channel, address);
          return { id: row.id, channel: row.channel, old: row.address, address: index, address_sealed: cipher.sealedAddress(address), display_name: reseal(cipher, row.display_name) };
        });
        const moved = changes.filter((change) => change.old !== change.address);
        // New indexes carry the new key's id: they never collide with the old ones still in place.
        if (moved.length) {
          await tx.query(`insert into rekeyed select * from unnest($1::text[], $2::text[], $3::text[])`, [moved.map((c) => c.channel), moved.map((c) => c.old), moved.map((c) => c.address)]);
        }
        return changes;
      }),
    );
    await tx.query(`create index on rekeyed (channel, old)`);
    await tx.query(`analyze rekeyed`);
    for (const table of ['messages', 'outbox']) {
      await tx.query(`update ${table} t set address = r.new from rekeyed r where t.channel = r.channel and t.address = r.old`);
    }
    done(
      'contacts',
      await rewrite(tx, 'contacts', ['name', 'fields'], `name is not null or fields <> '{}'::jsonb`, async (rows) =>
        rows.map((row) => ({ id: row.id, name: reseal(cipher, row.name), fields: cipher.sealFields(cipher.openFields(row.fields)) })),
      ),
    );
    // An inbound message's channel id is a blind index kept to recognise redeliveries; it
    // cannot be recomputed (the id itself is not kept) and stays under the old key.
    done(
      'messages',
      await rewrite(tx, 'messages', ['direction', 'text', 'payload', 'channel_message_id'], `text is not null or payload ? 'sealed' or (direction = 'out' and channel_message_id is not null)`, async (rows) =>
        rows.map((row) => ({
          id: row.id,
          text: reseal(cipher, row.text),
          payload: resealJson(cipher, row.payload),
          channel_message_id: row.direction === 'out' ? reseal(cipher, row.channel_message_id) : row.channel_message_id,
        })),
      ),
    );
    done(
      'outbox',
      await rewrite(tx, 'outbox', ['body', 'channel_message_id'], `body ? 'sealed' or channel_message_id is not null`, async (rows) =>
        rows.map((row) => ({ id: row.id, body: resealJson(cipher, row.body), channel_message_id: reseal(cipher, row.channel_message_id) })),
      ),
    );
    done(
      'conversations',
      await rewrite(tx, 'conversations', ['vars', 'answers'], 'true', async (rows) =>
        rows.map((row) => ({ id: row.id, vars: resealJson(cipher, row.vars), answers: resealJson(cipher, row.answers) })),
      ),
    );
    done(
      'survey_answers',
      await rewrite(tx, 'survey_answers', ['value_text'], `value_text is not null and ${FREE_TEXT_TYPES}`, async (rows) => rows.map((row) => ({ id: row.id, value_text: reseal(cipher, row.value_text) }))),
    );
    await tx.query(`update encryption_keys set retired_at = now() where retired_at is null and key_id is distinct from $1`, [cipher.keyId ?? null]);
    if (cipher.keyId) await tx.query(`insert into encryption_keys (key_id) values ($1) on conflict (key_id) do update set retired_at = null`, [cipher.keyId]);
  });
  return { keyId: cipher.keyId, rewritten };
}

function reseal(cipher: Cipher, value: string | null): string | null {
  return cipher.seal(cipher.open(value));
}

function resealJson(cipher: Cipher, value: unknown): unknown {
  return value == null ? value : cipher.sealJson(cipher.openJson(value));
}

/**
 * Pages through `table` (rows matching `where`), lets `change` compute new values for
 * `columns` (jsonb ones as objects), and writes them back in one statement per page.
 */
async function rewrite(tx: Sql, table: string, columns: string[], where: string, change: (rows: Record<string, any>[]) => Promise<Record<string, unknown>[]>): Promise<number> {
  const types = await tx.query<{ column_name: string; data_type: string }>(
    `select column_name, data_type from information_schema.columns where table_schema = current_schema() and table_name = $1`,
    [table],
  );
  const isJson = new Set(types.filter((type) => type.data_type === 'jsonb').map((type) => type.column_name));
  let after = 0;
  let count = 0;
  for (;;) {
    const rows = await tx.query<Record<string, any>>(`select id, ${columns.join(', ')} from ${table} where id > $1 and (${where}) order by id limit ${PAGE}`, [after]);
    if (!rows.length) return count;
    const changes = await change(rows);
    const written = Object.keys(changes[0]!).filter((column) => column !== 'id' && columns.includes(column) && column !== 'channel' && column !== 'direction');
    const set = written.map((column) => `${column} = u.${column}${isJson.has(column) ? '::jsonb' : ''}`).join(', ');
    await tx.query(
      `update ${table} t set ${set} from unnest($1::bigint[], ${written.map((_, index) => `$${index + 2}::text[]`).join(', ')}) as u(id, ${written.join(', ')}) where t.id = u.id`,
      [changes.map((row) => row.id), ...written.map((column) => changes.map((row) => (isJson.has(column) ? (row[column] == null ? null : JSON.stringify(row[column])) : row[column])))],
    );
    count += rows.length;
    after = rows.at(-1)!.id;
  }
}
