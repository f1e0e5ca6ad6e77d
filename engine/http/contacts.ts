// The admin API for contacts (bearer ADMIN_TOKEN): list with a segment, everything about
// one person, erase one, export all (streamed).
import { eraseContact } from '../contacts/erase.ts';
import { everythingAbout, exportContacts } from '../contacts/export.ts';
import { TocsinError } from '../errors.ts';
import { compileSegment, parseSegment, SegmentError } from '../segments.ts';
import type { Services } from '../services.ts';
import { adminRoute } from './admin.ts';
import { type HttpServer, sendJson } from './server.ts';

const PAGE = 100;

export function addContactRoutes(http: HttpServer, services: Services) {
  const { db, config, broadcasts, i18n } = services;
  const token = config.adminToken;
  adminRoute(http, token, 'GET', '/api/contacts', async (request, response) => {
    const query = new URL(request.url ?? '/', 'http://local').searchParams;
    try {
      const segment = compileSegment(parseSegment(query.get('segment') ?? 'everyone', await broadcasts.customFields(), db.cipher.enabled), i18n.defaultLanguage, 2);
      const rows = await db.query<{ id: number; name: string | null }>(
        `select c.id, c.name, c.language, c.created_at, coalesce((select array_agg(distinct i.channel) from identities i where i.contact_id = c.id), '{}') as channels
         from contacts c where c.status = 'active' and c.id > $1 and ${segment.where} order by c.id limit ${PAGE}`,
        [Number(query.get('after') ?? 0), ...segment.params],
      );
      for (const row of rows) row.name = db.cipher.open(row.name);
      sendJson(response, 200, { contacts: rows, next: rows.length === PAGE ? rows.at(-1)!.id : null });
    } catch (error) {
      if (error instanceof SegmentError) return sendJson(response, 422, { error: error.message, at: error.at });
      throw error;
    }
  });
  adminRoute(http, token, 'GET', '/api/contacts/*', async (request, response) => {
    const rest = (request.url ?? '').split('?')[0]!.slice('/api/contacts/'.length);
    if (rest === 'export') {
      const format = new URL(request.url ?? '/', 'http://local').searchParams.get('format') === 'json' ? 'json' : 'csv';
      response.writeHead(200, { 'content-type': format === 'json' ? 'application/x-ndjson; charset=utf-8' : 'text/csv; charset=utf-8' });
      await exportContacts(db, format, (line) => new Promise<void>((done) => (response.write(line) ? done() : response.once('drain', done))));
      return void response.end();
    }
    if (!/^\d+$/.test(rest)) return sendJson(response, 404, { error: 'not found' });
    try {
      sendJson(response, 200, await everythingAbout(db, Number(rest)));
    } catch (error) {
      if (error instanceof TocsinError) return sendJson(response, 404, { error: error.message });
      throw error;
    }
  });
  adminRoute(http, token, 'DELETE', '/api/contacts/*', async (request, response) => {
    const id = (request.url ?? '').split('?')[0]!.slice('/api/contacts/'.length);
    if (!/^\d+$/.test(id)) return sendJson(response, 404, { error: 'not found' });
    try {
      await db.transaction((tx) => eraseContact(tx, Number(id), 'api'));
      sendJson(response, 200, { erased: Number(id) });
    } catch (error) {
      if (error instanceof TocsinError) return sendJson(response, 404, { error: error.message });
      throw error;
    }
  });
}
