// Prometheus metrics, served at GET /metrics. Each engine has its own registry.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly inbound = new Counter({ name: 'tocsin_inbound_messages_total', help: 'Inbound messages accepted (duplicates excluded)', labelNames: ['channel'], registers: [this.registry] });
  readonly duplicates = new Counter({ name: 'tocsin_inbound_duplicates_total', help: 'Inbound messages dropped as redeliveries', labelNames: ['channel'], registers: [this.registry] });
  readonly outbound = new Counter({
    name: 'tocsin_outbound_messages_total',
    help: 'Send attempts by outcome: sent, retry, failed',
    labelNames: ['channel', 'outcome'],
    registers: [this.registry],
  });
  readonly deliveryLatency = new Histogram({
    name: 'tocsin_delivery_latency_seconds',
    help: 'From a message entering the outbox to the channel accepting it',
    labelNames: ['channel'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });
  readonly outboxDepth: Gauge<'channel'>;

  readonly channelState: Gauge<'channel' | 'state'>;

  constructor(options: { defaults?: boolean; outboxDepth?: () => Promise<Record<string, number>>; channelStates?: () => Record<string, string> } = {}) {
    const states = options.channelStates;
    this.channelState = new Gauge({
      name: 'tocsin_channel_state',
      help: 'Connection state of channels that have one (1 for the current state)',
      labelNames: ['channel', 'state'],
      registers: [this.registry],
      collect() {
        if (!states) return;
        this.reset();
        for (const [channel, state] of Object.entries(states())) this.set({ channel, state }, 1);
      },
    });
    if (options.defaults) collectDefaultMetrics({ register: this.registry, prefix: 'tocsin_' });
    const depth = options.outboxDepth;
    this.outboxDepth = new Gauge({
      name: 'tocsin_outbox_depth',
      help: 'Messages waiting to be sent, per channel',
      labelNames: ['channel'],
      registers: [this.registry],
      // Read from the database at scrape time: the outbox is shared by every engine process.
      async collect() {
        if (!depth) return;
        this.reset();
        for (const [channel, count] of Object.entries(await depth())) this.set({ channel }, count);
      },
    });
  }
}
