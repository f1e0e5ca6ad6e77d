// GET /healthz (the database answers?) and GET /metrics (Prometheus text).
import type { Database } from '../store/database.ts';
import type { Metrics } from '../metrics.ts';
import type { Channel } from '../types.ts';
import { type HttpServer, sendJson } from './server.ts';

export function addObservabilityRoutes(http: HttpServer, db: Database, metrics: Metrics, channels: Channel[] = []) {
  http.route('GET', '/healthz', async (_request, response) => {
    // Channels with a connection tell its state (WhatsApp: connecting, qr, ready...).
    const states = Object.fromEntries(channels.filter((channel) => channel.status).map((channel) => [channel.name, channel.status!()]));
    const extra = Object.keys(states).length ? { channels: states } : {};
    try {
      await db.ping();
      sendJson(response, 200, { status: 'ok', database: 'ok', ...extra });
    } catch {
      sendJson(response, 503, { status: 'unavailable', database: 'unreachable', ...extra });
    }
  });
  http.route('GET', '/metrics', async (_request, response) => {
    const text = await metrics.registry.metrics();
    response.writeHead(200, { 'content-type': metrics.registry.contentType });
    response.end(text);
  });
}
