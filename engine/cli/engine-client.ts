// Talks to a running engine over its local socket (see engine/http/local-api.ts).
import { request } from 'node:http';
import { errors, TocsinError } from '../errors.ts';

export async function callEngine<T>(socket: string, path: string, body: unknown): Promise<T> {
  const payload = JSON.stringify(body);
  return new Promise<T>((resolve, reject) => {
    const req = request(
      { socketPath: socket, path, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          // 422: the engine refused the request with a message meant for people.
          if (res.statusCode === 422) return reject(new TocsinError((JSON.parse(text) as { error: string }).error));
          if (res.statusCode !== 200) return reject(errors.engineUnreachable(socket, new Error(`HTTP ${res.statusCode}: ${text}`)));
          resolve(JSON.parse(text) as T);
        });
      },
    );
    req.on('error', (error) => reject(errors.engineUnreachable(socket, error)));
    req.end(payload);
  });
}
