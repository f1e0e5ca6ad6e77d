// Events over HTTP: GET /events/<slug>.ics (a calendar file for supporters, public) and the
// admin API: GET /api/events (upcoming, with counts), POST /api/events (create),
// GET /api/events/<id or slug> (with attendees).
import { URL } from 'node:url';
import { audit } from '../audit.ts';
import { TocsinError } from '../errors.ts';
import { createEvent, eventIcs, listEvents, showEvent, type NewEvent } from '../events.ts';
import type { Services } from '../services.ts';
import { adminRoute } from './admin.ts';
import { type HttpServer, sendJson } from './server.ts';

export function addEventRoutes(http: HttpServer, services: Services) {
  const { db, i18n, config } = services;
  http.route('GET', '/events/*', async (request, response) => {
    const slug = /^\/events\/([a-z0-9-]+)\.ics$/.exec((request.url ?? '').split('?')[0]!)?.[1];
    const event = slug ? (await listEvents(db, i18n.defaultLanguage, { slug }))[0] : undefined;
    if (!event || event.status !== 'scheduled') return sendJson(response, 404, { error: 'no such event' });
    const [row] = await db.query<{ ends_at: Date | null }>(`select ends_at from events where id = $1`, [event.id]);
    const body = eventIcs({ ...event, end: row?.ends_at?.toISOString() ?? null }, new URL(config.publicUrl).hostname);
    response.writeHead(200, { 'content-type': 'text/calendar; charset=utf-8', 'content-disposition': `attachment; filename="${event.slug}.ics"` });
    response.end(body);
  });
  adminRoute(http, config.adminToken, 'GET', '/api/events', async (_request, response) => sendJson(response, 200, await listEvents(db, i18n.defaultLanguage, { upcoming: true })));
  adminRoute(http, config.adminToken, 'GET', '/api/events/*', async (request, response) => {
    const id = decodeURIComponent((request.url ?? '').split('?')[0]!.slice('/api/events/'.length));
    try {
      sendJson(response, 200, await showEvent(db, id, i18n.defaultLanguage));
    } catch (error) {
      if (error instanceof TocsinError) return sendJson(response, 404, { error: error.message });
      throw error;
    }
  });
  adminRoute(http, config.adminToken, 'POST', '/api/events', async (_request, response, body) => {
    try {
      const created = await createEvent(db, JSON.parse(body.toString('utf8')) as NewEvent, i18n.defaultLanguage);
      services.pipeline.deps.flowData.invalidate();
      await audit(db, 'api', 'event.create', { event: created.id, slug: created.slug });
      sendJson(response, 201, created);
    } catch (error) {
      if (error instanceof TocsinError || error instanceof SyntaxError) return sendJson(response, 422, { error: error.message });
      throw error;
    }
  });
}
