// The `webhook` flow action's channel: POSTs a JSON body to the row's address (a URL).
// 2xx is sent; 408, 429 and 5xx are retried (after Retry-After when given); any other
// answer is a permanent failure. The delivery worker does the retrying.
import type { Channel, OutboundMessage, SendResult } from './channel.ts';
import { permanent, retryAfter, sent } from './channel.ts';

export const WEBHOOK = 'webhook';

export class WebhookChannel implements Channel {
  readonly name = WEBHOOK;
  readonly capabilities = { buttons: true, maxTextLength: Number.MAX_SAFE_INTEGER, ratePerSecond: 20 };

  constructor(private readonly timeoutMs = 10_000) {}

  async start() {}
  async stop() {}

  async send(url: string, message: OutboundMessage): Promise<SendResult> {
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'Tocsin webhook' },
        body: JSON.stringify(message.data ?? {}),
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'error',
      });
    } catch (error) {
      return retryAfter(`POST ${url} failed: ${(error as Error).message}`);
    }
    await response.body?.cancel();
    if (response.ok) return sent(response.headers.get('x-request-id') ?? undefined);
    const reason = `POST ${url} answered ${response.status} ${response.statusText}`;
    if (response.status === 408 || response.status === 429 || response.status >= 500) {
      const after = Number(response.headers.get('retry-after'));
      return retryAfter(reason, Number.isFinite(after) && after > 0 ? after : undefined);
    }
    return permanent(reason);
  }
}
