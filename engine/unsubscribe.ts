// Unsubscribe links (RFC 8058 one-click): the token alone says whom to unsubscribe from
// which channel, signed with HMAC-SHA256 so that it cannot be forged or altered.
import { createHmac, timingSafeEqual } from 'node:crypto';

export function unsubscribeToken(secret: string, channel: string, address: string): string {
  const payload = Buffer.from(JSON.stringify([channel, address])).toString('base64url');
  return `${payload}.${sign(secret, payload)}`;
}

/** The channel and address of a genuine token; undefined for anything forged or damaged. */
export function readUnsubscribeToken(secret: string, token: string): { channel: string; address: string } | undefined {
  const [payload, signature, extra] = token.split('.');
  if (!payload || !signature || extra !== undefined) return undefined;
  const expected = Buffer.from(sign(secret, payload));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    const [channel, address] = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as [string, string];
    return typeof channel === 'string' && typeof address === 'string' ? { channel, address } : undefined;
  } catch {
    return undefined;
  }
}

function sign(secret: string, payload: string): string {
  return createHmac('sha256', secret).update(`unsubscribe:${payload}`).digest('base64url');
}
