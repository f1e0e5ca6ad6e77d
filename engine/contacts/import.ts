// `tocsin contacts import FILE.csv`: contacts from a spreadsheet or a CiviCRM export, with
// phones in E.164 and e-mails lower-cased, merged by identity (the same e-mail, phone or
// chat id is the same person) within the file and with the database, so importing a file
// twice changes nothing. Bad rows are reported (line, column, reason) and skipped whole.
// Everything is written with a handful of set-based statements in one transaction.
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { parse } from 'csv-parse';
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import type { Database, Sql } from '../store/database.ts';

export interface ImportOptions {
  dryRun?: boolean;
  /** Country of phone numbers written without +code (FR, LB…). */
  country?: string;
  defaultLanguage: string;
  languages: string[];
  onProgress?: (rows: number) => void;
}

export interface ImportSummary {
  rows: number;
  created: number;
  updated: number;
  merged: number;
  unchanged: number;
  skipped: number;
  errors: { line: number; column: string; reason: string }[];
  seconds: number;
  dryRun: boolean;
}

interface ContactColumns {
  name: string | null;
  language: string | null;
  timezone: string | null;
  fields: Record<string, unknown>;
}

interface Row {
  line: number;
  name?: string;
  language?: string;
  timezone?: string;
  /** `stored`: the address as the store keeps it (its blind index with TOCSIN_ENCRYPTION_KEY). */
  identities: { channel: string; address: string; stored?: string }[];
  phone?: string;
  groups: string[];
  consent?: boolean;
  fields: Record<string, string>;
}

/** Column names, ours and CiviCRM's, to what they mean. */
const ALIASES: Record<string, string> = {
  name: 'name', display_name: 'name', full_name: 'name', first_name: 'first_name', last_name: 'last_name',
  language: 'language', preferred_language: 'language', lang: 'language',
  timezone: 'timezone', time_zone: 'timezone',
  telegram: 'telegram', whatsapp: 'whatsapp', phone: 'phone', phone_number: 'phone', mobile: 'phone',
  email: 'email', email_address: 'email', e_mail: 'email',
  groups: 'groups', group: 'groups', tags: 'groups',
  consent: 'consent', do_not_email: 'do_not_email', is_opt_out: 'do_not_email',
};
const EMAIL = /^[^\s@<>()[\],;:"]+@[^\s@<>()[\],;:"]+\.[^\s@<>()[\],;:"]{2,}$/u;

export async function importContacts(db: Database, path: string, options: ImportOptions): Promise<ImportSummary> {
  const started = performance.now();
  const summary: ImportSummary = { rows: 0, created: 0, updated: 0, merged: 0, unchanged: 0, skipped: 0, errors: [], seconds: 0, dryRun: !!options.dryRun };
  const source = `import:${basename(path)}`;
  // Chunks: the next one is read and checked while the database writes this one (the
  // database and Node each keep a core busy). Later chunks find the people earlier ones
  // wrote (same transaction), so merging across the whole file still holds.
  const run = async (tx: Sql) => {
    const seenHere = new Set<number>();
    let writing: Promise<void> = Promise.resolve();
    for await (const chunk of readRows(path, options, summary)) {
      await writing;
      writing = write(tx, chunk, summary, source, seenHere);
      writing.catch(() => {}); // awaited on the next round; not unhandled meanwhile
    }
    await writing;
  };
  if (options.dryRun) {
    await db.transaction(async (tx) => {
      await run(tx);
      throw new DryRun();
    }).catch((error) => {
      if (!(error instanceof DryRun)) throw error;
    });
  } else {
    await db.transaction(run);
  }
  summary.seconds = Math.round((performance.now() - started) / 10) / 100;
  return summary;
}

class DryRun extends Error {}

const CHUNK_ROWS = 20_000;

async function* readRows(path: string, options: ImportOptions, summary: ImportSummary): AsyncGenerator<Row[]> {
  const delimiter = await sniffDelimiter(path);
  const parser = createReadStream(path).pipe(parse({ bom: true, delimiter, relax_column_count: true, skip_empty_lines: true, trim: true, info: true }));
  let header: string[] | undefined;
  const rows: Row[] = [];
  for await (const record of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
    if (!header) {
      header = record.record.map((column) => column.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, ''));
      continue;
    }
    summary.rows++;
    const row = readRow(header, record.record, record.info.lines, options, summary);
    if (row) rows.push(row);
    if (summary.rows % 5000 === 0) options.onProgress?.(summary.rows);
    if (rows.length === CHUNK_ROWS) yield rows.splice(0);
  }
  options.onProgress?.(summary.rows);
  if (rows.length) yield rows;
}

function readRow(header: string[], values: string[], line: number, options: ImportOptions, summary: ImportSummary): Row | undefined {
  const row: Row = { line, identities: [], groups: [], fields: {} };
  const fail = (column: string, reason: string) => {
    summary.errors.push({ line, column, reason });
    summary.skipped++;
    return undefined;
  };
  let first = '';
  let last = '';
  let doNotEmail = false;
  for (const [index, column] of header.entries()) {
    const value = values[index]?.trim() ?? '';
    if (!value) continue;
    switch (ALIASES[column] ?? 'field') {
      case 'name':
        row.name = value;
        break;
      case 'first_name':
        first = value;
        break;
      case 'last_name':
        last = value;
        break;
      case 'language': {
        const code = value.toLowerCase().split(/[-_]/)[0]!;
        if (!options.languages.includes(code)) return fail(column, `language "${value}" is not one of ${options.languages.join(', ')}`);
        row.language = code;
        break;
      }
      case 'timezone':
        try {
          new Intl.DateTimeFormat('en', { timeZone: value });
          row.timezone = value;
        } catch {
          return fail(column, `unknown timezone "${value}"`);
        }
        break;
      case 'telegram':
        if (!/^-?\d{3,20}$/.test(value)) return fail(column, `"${value}" is not a Telegram chat id (digits)`);
        row.identities.push({ channel: 'telegram', address: value });
        break;
      case 'whatsapp':
      case 'phone': {
        const number = parsePhoneNumberFromString(value, options.country as CountryCode | undefined);
        if (!number?.isValid()) return fail(column, `"${value}" is not a phone number${options.country ? '' : ' with its +country code (or give --country)'}`);
        if (ALIASES[column] === 'whatsapp') row.identities.push({ channel: 'whatsapp', address: number.number });
        else row.phone = number.number;
        break;
      }
      case 'email': {
        const email = value.toLowerCase();
        if (!EMAIL.test(email)) return fail(column, `"${value}" is not an e-mail address`);
        row.identities.push({ channel: 'email', address: email });
        break;
      }
      case 'groups':
        row.groups.push(...value.split(/[;|]/).map((group) => group.trim()).filter(Boolean));
        break;
      case 'consent':
        if (/^(yes|y|true|1|oui|да|نعم)$/i.test(value)) row.consent = true;
        else if (/^(no|n|false|0|non|нет|لا)$/i.test(value)) row.consent = false;
        else return fail(column, `consent "${value}" is not yes or no`);
        break;
      case 'do_not_email':
        doNotEmail = /^(1|yes|true)$/i.test(value);
        break;
      default:
        row.fields[column] = value;
    }
  }
  if (!row.name && (first || last)) row.name = [first, last].filter(Boolean).join(' ');
  if (doNotEmail && row.consent === undefined) row.consent = false;
  // A phone without a WhatsApp column still identifies the person on WhatsApp.
  if (row.phone && !row.identities.some((identity) => identity.channel === 'whatsapp')) row.identities.push({ channel: 'whatsapp', address: row.phone });
  if (!row.identities.length) return fail('', 'no e-mail, phone, WhatsApp or Telegram: nothing to reach this person by');
  return row;
}

/** Merges rows that share an identity, matches them with the database, writes in bulk. */
async function write(tx: Sql, rows: Row[], summary: ImportSummary, source: string, seenHere: Set<number>) {
  const { cipher } = tx;
  // With TOCSIN_ENCRYPTION_KEY the store finds an identity by its blind index, not its address.
  for (const row of rows) for (const identity of row.identities) identity.stored = cipher.index(identity.channel, identity.address);
  // Rows that share an identity are one person (union-find over identities).
  const parent = rows.map((_, index) => index);
  const find = (index: number): number => (parent[index] === index ? index : (parent[index] = find(parent[index]!)));
  const owner = new Map<string, number>();
  rows.forEach((row, index) => {
    for (const identity of row.identities) {
      const key = `${identity.channel}:${identity.stored}`;
      const other = owner.get(key);
      if (other === undefined) owner.set(key, index);
      else parent[find(index)] = find(other);
    }
  });
  const groups = new Map<number, Row[]>();
  rows.forEach((row, index) => groups.set(find(index), [...(groups.get(find(index)) ?? []), row]));

  // Who exists already, by any of the file's identities.
  const keys = [...owner.keys()];
  const existing = await tx.query<{ key: string; contact_id: number }>(
    `select i.channel || ':' || i.address as key, i.contact_id from identities i
     join unnest($1::text[], $2::text[]) as k(channel, address) on k.channel = i.channel and k.address = i.address`,
    [keys.map((key) => key.slice(0, key.indexOf(':'))), keys.map((key) => key.slice(key.indexOf(':') + 1))],
  );
  const contactOf = new Map(existing.map((row) => [row.key, row.contact_id]));

  const people = [...groups.values()].map((members) => {
    const merged: Row = { line: members[0]!.line, identities: [], groups: [], fields: {} };
    for (const member of members) {
      merged.name ??= member.name;
      merged.language ??= member.language;
      merged.timezone ??= member.timezone;
      merged.consent ??= member.consent;
      merged.identities.push(...member.identities);
      merged.groups.push(...member.groups);
      merged.fields = { ...member.fields, ...merged.fields };
    }
    merged.identities = [...new Map(merged.identities.map((identity) => [`${identity.channel}:${identity.stored}`, identity])).values()];
    merged.groups = [...new Set(merged.groups)];
    const contact = merged.identities.map((identity) => contactOf.get(`${identity.channel}:${identity.stored}`)).find((id) => id !== undefined);
    summary.merged += members.length - 1;
    return { row: merged, contact };
  });

  // New people: one insert, ids back in order.
  const fresh = people.filter((person) => person.contact === undefined);
  if (fresh.length) {
    const ids = await tx.query<{ id: number }>(
      `insert into contacts (name, language, timezone, fields)
       select p->>'name', p->>'language', p->>'timezone', coalesce(p->'fields', '{}'::jsonb)
       from jsonb_array_elements($1::jsonb) with ordinality as t(p, n) order by n returning id`,
      [JSON.stringify(fresh.map(({ row }) => ({ name: cipher.seal(row.name ?? null), language: row.language ?? null, timezone: row.timezone ?? null, fields: cipher.sealFields(row.fields) })))],
    );
    fresh.forEach((person, index) => (person.contact = ids[index]!.id));
    summary.created += fresh.length;
  }
  // People we knew: fill what is missing, add fields; count only real changes.
  const freshSet = new Set(fresh);
  const known = people.filter((person) => !freshSet.has(person));
  const changedIds = new Set<number>();
  if (known.length) {
    // Compared here, not in SQL: sealed values differ at every write even when the text is the same.
    const current = new Map(
      (await tx.query<ContactColumns & { id: number }>(`select id, name, language, timezone, fields from contacts where id = any($1::bigint[])`, [known.map((person) => person.contact)])).map((row) => [row.id, row]),
    );
    const changes = known.flatMap(({ row, contact }) => {
      const now = current.get(contact!)!;
      const fields = cipher.openFields(now.fields);
      const change = {
        id: contact,
        name: now.name === null && row.name ? cipher.seal(row.name) : null,
        language: now.language === null && row.language ? row.language : null,
        timezone: now.timezone === null && row.timezone ? row.timezone : null,
        fields: cipher.sealFields(Object.fromEntries(Object.entries(row.fields).filter(([name, value]) => fields[name] !== value))),
      };
      return change.name || change.language || change.timezone || Object.keys(change.fields).length ? [change] : [];
    });
    if (changes.length) {
      await tx.query(
        `update contacts c set name = coalesce(c.name, p.name), language = coalesce(c.language, p.language), timezone = coalesce(c.timezone, p.timezone),
                fields = c.fields || p.fields, updated_at = now()
         from jsonb_to_recordset($1::jsonb) as p(id bigint, name text, language text, timezone text, fields jsonb)
         where c.id = p.id`,
        [JSON.stringify(changes)],
      );
    }
    for (const change of changes) changedIds.add(change.id!);
  }

  // Arrays, not JSON, for the big statements: PostgreSQL unnests them fastest.
  const identities = people.flatMap(({ row, contact }) => row.identities.map((identity) => ({ contact: contact!, ...identity })));
  const newIdentities = await tx.query<{ contact_id: number }>(
    `insert into identities (contact_id, channel, address, address_sealed)
     select * from unnest($1::bigint[], $2::text[], $3::text[], $4::text[])
     on conflict (channel, address) do nothing returning contact_id`,
    [
      identities.map((identity) => identity.contact),
      identities.map((identity) => identity.channel),
      identities.map((identity) => identity.stored),
      identities.map((identity) => cipher.sealedAddress(identity.address)),
    ],
  );
  const groupNames = [...new Set(people.flatMap(({ row }) => row.groups))];
  let memberships: { contact_id: number }[] = [];
  if (groupNames.length) {
    await tx.query(`insert into groups (name) select unnest($1::text[]) on conflict (name) do nothing`, [groupNames]);
    const groupIds = new Map((await tx.query<{ id: number; name: string }>(`select id, name from groups where name = any($1::text[])`, [groupNames])).map((group) => [group.name, group.id]));
    const pairs = people.flatMap(({ row, contact }) => row.groups.map((group) => [contact!, groupIds.get(group)!] as const));
    memberships = await tx.query<{ contact_id: number }>(
      `insert into memberships (contact_id, group_id) select * from unnest($1::bigint[], $2::bigint[]) on conflict do nothing returning contact_id`,
      [pairs.map((pair) => pair[0]), pairs.map((pair) => pair[1])],
    );
  }
  // Consent per channel the person has, unless the ledger already says the same (new
  // people have no ledger yet: no need to look).
  const consentRows = people.flatMap(({ row, contact }) => (row.consent === undefined ? [] : row.identities.map((identity) => ({ contact: contact!, channel: identity.channel, status: row.consent ? 'granted' : 'withdrawn' }))));
  const freshIds = new Set(fresh.map((person) => person.contact));
  const [forNew, forKnown] = [consentRows.filter((consent) => freshIds.has(consent.contact)), consentRows.filter((consent) => !freshIds.has(consent.contact))];
  if (forNew.length) {
    await tx.query(`insert into consents (contact_id, channel, status, source) select c, ch, st, $4 from unnest($1::bigint[], $2::text[], $3::text[]) as u(c, ch, st)`, [
      forNew.map((consent) => consent.contact),
      forNew.map((consent) => consent.channel),
      forNew.map((consent) => consent.status),
      source,
    ]);
  }
  const consents = forKnown.length
    ? await tx.query<{ contact_id: number }>(
        `insert into consents (contact_id, channel, status, source)
         select c, ch, st, $4 from unnest($1::bigint[], $2::text[], $3::text[]) as u(c, ch, st)
         where (select x.status from consents x where x.contact_id = u.c and x.channel = u.ch order by x.id desc limit 1) is distinct from u.st
         returning contact_id`,
        [forKnown.map((consent) => consent.contact), forKnown.map((consent) => consent.channel), forKnown.map((consent) => consent.status), source],
      )
    : [];
  // A known person who got new identities, groups or consents was updated too.
  const knownIds = new Set(known.map((person) => person.contact));
  for (const row of [...newIdentities, ...memberships, ...consents]) if (knownIds.has(row.contact_id)) changedIds.add(row.contact_id);
  // Someone an earlier chunk of this file already wrote is a duplicate row: merged.
  const firstSeen = known.filter((person) => !seenHere.has(person.contact!));
  summary.merged += known.length - firstSeen.length;
  summary.updated += firstSeen.filter((person) => changedIds.has(person.contact!)).length;
  summary.unchanged += firstSeen.filter((person) => !changedIds.has(person.contact!)).length;
  for (const person of people) seenHere.add(person.contact!);
}

/** `;` or `,`, whichever the header line uses more (spreadsheets in French write `;`). */
async function sniffDelimiter(path: string): Promise<string> {
  const stream = createReadStream(path, { start: 0, end: 4095, encoding: 'utf8' });
  let head = '';
  for await (const chunk of stream) head += chunk;
  const first = head.split(/\r?\n/)[0] ?? '';
  return (first.match(/;/g)?.length ?? 0) > (first.match(/,/g)?.length ?? 0) ? ';' : ',';
}
