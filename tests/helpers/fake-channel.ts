// A channel for tests: records what it is asked to send and answers with scripted
// results (sent by default), optionally after a delay.
import type { Channel, OutboundMessage, SendResult } from '../../engine/types.ts';

export interface Sent {
  address: string;
  message: OutboundMessage;
  at: number;
}

export class FakeChannel implements Channel {
  readonly sent: Sent[] = [];
  /** Results to give, in order; when empty, `sent`. */
  readonly script: (SendResult | Error)[] = [];
  delayMs = 0;
  attempts = 0;

  constructor(
    readonly name = 'fake',
    readonly capabilities = { buttons: true, maxTextLength: 4096, ratePerSecond: Infinity },
  ) {}

  async start() {}
  async stop() {}

  async send(address: string, message: OutboundMessage): Promise<SendResult> {
    this.attempts++;
    if (this.delayMs) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    const next = this.script.shift();
    if (next instanceof Error) throw next;
    if (next && next.status !== 'sent') return next;
    this.sent.push({ address, message, at: Date.now() });
    return { status: 'sent', channelMessageId: `fake-${this.sent.length}` };
  }
}
