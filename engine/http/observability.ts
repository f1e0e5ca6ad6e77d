// GET /healthz (the database answers?) and GET /metrics (Prometheus text).
import type { Database } from '../store/database.ts';
import type { Metrics } from '../metrics.ts';
import { type HttpServer, sendJson } from './server.ts';

export function addObservabilityRoutes(http: HttpServer, db: Database, metrics: Metrics) {
  http.route('GET', '/healthz', async (_request, response) => {
    try {
      await db.ping();
      sendJson(response, 200, { status: 'ok', database: 'ok' });
    } catch {
      sendJson(response, 503, { status: 'unavailable', database: 'unreachable' });
    }
  });
  http.route('GET', '/metrics', async (_request, response) => {
    const text = await metrics.registry.metrics();
    response.writeHead(200, { 'content-type': metrics.registry.contentType });
    response.end(text);
  });
}
