// The one interface every channel adapter implements (defined with the other contracts
// in engine/types.ts), and the normalized send results adapters return.
import type { SendResult } from '../engine/types.ts';

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
