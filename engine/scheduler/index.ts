// The engine's periodic jobs, on a schedule kept by bree: event reminders and follow-ups,
// conversation expiry, and the sweep for messages accepted but not processed. Each job
// is safe with several engine processes (claims in the database), never overlaps itself,
// and catches up on what fell due while the engine was down.
import { fileURLToPath } from 'node:url';
import Bree from 'bree';
import { describe } from '../errors.ts';
import { expireConversations } from '../pipeline/expiry.ts';
import type { Services } from '../services.ts';
import { sendDueReminders } from './reminders.ts';
import { scrubOldTexts } from './retention.ts';

const TICK = fileURLToPath(new URL('./tick.mjs', import.meta.url));

export interface Job {
  name: string;
  /** bree interval: '30s', '1m'… */
  every: string;
  run(services: Services, now: Date): Promise<unknown>;
}

export const JOBS: Job[] = [
  {
    name: 'reminders',
    every: '30s',
    run: (services, now) => sendDueReminders(services, now, services.config.reminderGraceMs).then((outcome) => (outcome.sent || outcome.followups ? services.delivery.wake() : undefined)),
  },
  { name: 'expiry', every: '1m', run: (services) => expireConversations(services.db) },
  { name: 'inbound-sweep', every: '10s', run: (services) => services.pipeline.sweep(services.config.inboundSweepAfterMs) },
  {
    name: 'retention',
    every: '1h',
    run: (services, now) => (services.config.retentionDays ? scrubOldTexts(services.db, services.config.retentionDays, now) : Promise.resolve(0)),
  },
];

export class Scheduler {
  private bree?: Bree;
  private readonly running = new Set<string>();

  constructor(
    private readonly services: Services,
    private readonly jobs: Job[] = JOBS,
  ) {}

  async start() {
    this.bree = new Bree({
      root: false,
      logger: false,
      doRootCheck: false,
      jobs: this.jobs.map((job) => ({ name: job.name, path: TICK, interval: job.every, timeout: '1s', worker: { workerData: { job: job.name } } })),
      workerMessageHandler: ({ message }) => void this.run((message as { job?: string } | undefined)?.job ?? ''),
      errorHandler: (error: unknown) => this.services.log.warn({ error: describe(error) }, 'scheduler error'),
    });
    await this.bree.start();
  }

  async stop() {
    await this.bree?.stop();
  }

  /** Runs a job now, unless it is still running from last time. */
  async run(name: string, now = new Date()) {
    const job = this.jobs.find((candidate) => candidate.name === name);
    if (!job || this.running.has(name)) return;
    this.running.add(name);
    try {
      await job.run(this.services, now);
    } catch (error) {
      this.services.log.error({ job: name, error: describe(error) }, 'scheduled job failed; it runs again at its next time');
    } finally {
      this.running.delete(name);
    }
  }
}
