// The one interface every channel adapter implements (defined with the other contracts
// in engine/types.ts), and the normalized send results adapters return.
import type { InboundHandler, InboundMessage, SendResult } from '../engine/types.ts';

export type { Channel, ChannelCapabilities, ChannelContext, InboundHandler, InboundMessage, OutboundMessage, SendResult } from '../engine/types.ts';

export const sent = (channelMessageId?: string): SendResult => ({ status: 'sent', channelMessageId });

/** Try again later: after `afterSeconds` when the channel said so, else with backoff. */
export const retryAfter = (reason: string, afterSeconds?: number, scope: 'address' | 'channel' = 'address'): SendResult => ({
  status: 'retry',
  reason,
  afterSeconds,
  scope,
});

export const permanent = (reason: string, options: { stopContact?: boolean } = {}): SendResult => ({ status: 'permanent', reason, ...options });

/**
 * Stores an inbound message, trying again with backoff while the store fails (the
 * database restarting): for channels that cannot ask the sender to send it again.
 */
export async function storeWithRetry(onInbound: InboundHandler, message: InboundMessage, options: { stopping: () => boolean; onError: (error: Error, retryInMs: number) => void }) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await onInbound(message);
    } catch (error) {
      if (options.stopping()) throw error;
      const delay = Math.min(30_000, 500 * 2 ** attempt);
      options.onError(error as Error, delay);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
