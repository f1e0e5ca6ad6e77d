// The delivery worker: takes due messages from the outbox and sends them through their
// channel. Rows are claimed with FOR UPDATE SKIP LOCKED, so several engine processes
// share one outbox without sending anything twice. A contact's messages on a channel go
// out one at a time, in order. Failures are retried with backoff and jitter, a channel's
// retry-after is honoured, permanent failures are recorded, and a recipient who blocked
// us becomes stopped on that channel. Retry, backoff and pacing live here, once, for
// every channel.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DEFAULTS } from '../config.ts';
import { describe } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { Database } from '../store/database.ts';
import type { Channel, OutboundMessage, SendResult } from '../types.ts';
import { backoffMs } from './backoff.ts';
import { fitToChannel } from './format.ts';
import { GroupCommit } from './group-commit.ts';
import { quietUntil, type QuietHours } from './quiet-hours.ts';
import { RateLimiter } from './rate-limit.ts';

/** A broadcast's text carries `{{contact.name}}` as a placeholder: the name goes in as plain data. */
function personalize(row: ClaimedRow): ClaimedRow {
  if (row.body.broadcast === undefined || !row.body.text.includes('{{contact.name}}')) return row;
  return { ...row, body: { ...row.body, text: row.body.text.replaceAll('{{contact.name}}', row.contact_name ?? '') } };
}

export type DeliverySettings = typeof DEFAULTS.delivery;

export interface DeliveryOptions {
  db: Database;
  channels: Channel[];
  log: Logger;
  metrics: Metrics;
  settings: DeliverySettings;
  /** Names this process in `claimed_by` (for people reading the outbox). */
  workerId?: string;
  /** Bulk messages and reminders wait outside these local hours (urgent alerts do not). */
  quiet?: { hours: QuietHours; defaultTimezone: string };
  now?: () => Date;
}

interface ClaimedRow {
  id: number;
  contact_id: number;
  conversation_id: number | null;
  channel: string;
  /** As stored: the blind index with TOCSIN_ENCRYPTION_KEY (what lookups and pacing use). */
  address: string;
  /** The address the channel sends to. */
  recipient: string;
  kind: string;
  body: OutboundMessage & { broadcast?: number; urgent?: boolean };
  attempts: number;
  created_at: Date;
  contact_name: string | null;
  contact_timezone: string | null;
}

const FINAL_STATUSES = new Set(['sent', 'failed', 'cancelled']);
const STUCK_SWEEP_EVERY_MS = 60_000;

export class DeliveryWorker {
  readonly workerId: string;
  private readonly channels = new Map<string, Channel>();
  private readonly limiters = new Map<string, RateLimiter>();
  private readonly loops: Promise<void>[] = [];
  private wakeUp: (() => void)[] = [];
  private stopping = false;
  private lastStuckSweep = 0;
  /** Sends that went out, recorded many per statement under load. */
  private readonly sentRecords = new GroupCommit<{ id: number; channelMessageId: string | null; text: string | null }>((sent) =>
    this.options.db.query(
      `with sent as (
         update outbox o set status = 'sent', sent_at = now(), channel_message_id = u.channel_message_id, last_error = null
         from unnest($1::bigint[], $2::text[], $3::text[]) as u(id, channel_message_id, text) where o.id = u.id
         returning o.contact_id, o.conversation_id, o.channel, o.address, o.channel_message_id, o.body, u.text)
       insert into messages (contact_id, conversation_id, direction, channel, address, channel_message_id, text, payload, status)
       select contact_id, conversation_id, 'out', channel, address, channel_message_id, text, body, 'sent' from sent`,
      [sent.map((row) => row.id), sent.map((row) => row.channelMessageId), sent.map((row) => row.text)],
    ).then(() => {}),
  );

  constructor(private readonly options: DeliveryOptions) {
    this.workerId = options.workerId ?? `${process.pid}-${randomUUID().slice(0, 8)}`;
    for (const channel of options.channels) {
      this.channels.set(channel.name, channel);
      const { ratePerSecond, addressIntervalMs, jitter } = channel.capabilities;
      this.limiters.set(channel.name, new RateLimiter({ perSecond: ratePerSecond, addressIntervalMs: addressIntervalMs?.bind(channel.capabilities), jitter }));
    }
  }

  /** Starts one loop per channel (all of them, or those named). */
  start(names: string[] = [...this.channels.keys()]) {
    for (const name of names) this.loops.push(this.loop(name));
  }

  /** New rows are in the outbox: look now rather than at the next poll. */
  wake() {
    const waiting = this.wakeUp;
    this.wakeUp = [];
    for (const resolve of waiting) resolve();
  }

  /** Stops claiming; resolves when the sends under way have finished and been recorded. */
  async stop() {
    this.stopping = true;
    this.wake();
    await Promise.allSettled(this.loops);
  }

  /**
   * Sends these rows now (unless another worker already has them) and resolves when each
   * is sent, failed or cancelled — or when `timeoutMs` has passed.
   */
  async deliver(ids: number[], timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let remaining = ids;
    while (remaining.length && Date.now() < deadline) {
      for (const name of this.channels.keys()) {
        const rows = await this.claim(name, remaining.length, remaining);
        if (rows.length) await this.sendAll(name, rows);
      }
      const statuses = await this.options.db.query<{ id: number; status: string }>(`select id, status from outbox where id = any($1::bigint[])`, [remaining]);
      remaining = statuses.filter((row) => !FINAL_STATUSES.has(row.status)).map((row) => row.id);
      if (remaining.length) await sleep(20);
    }
  }

  /**
   * Keeps up to `batchSize` sends under way on the channel, claiming more as each one
   * finishes — a send that waits (one chat's pacing, a slow answer) holds up only itself.
   */
  private async loop(channel: string) {
    const { log, settings } = this.options;
    const limiter = this.limiters.get(channel)!;
    const underWay = new Set<Promise<void>>();
    while (!this.stopping) {
      try {
        await this.sweepStuck();
        const paused = limiter.pausedFor();
        if (paused) {
          await this.idle(Math.min(paused, settings.pollMs * 4));
          continue;
        }
        const room = settings.batchSize - underWay.size;
        const rows = room > 0 ? await this.claim(channel, room) : [];
        for (const row of rows) {
          const sending: Promise<void> = this.sendOne(channel, row)
            .catch((error) => log.error({ channel, outbox: row.id, error: describe(error) }, 'send could not be recorded'))
            .finally(() => underWay.delete(sending));
          underWay.add(sending);
        }
        // Full: wait for a send to finish. Outbox drained: wait for new rows, or for a
        // send to finish (the contact's next message may then go).
        if (rows.length === room && room > 0) await Promise.race(underWay);
        else if (!rows.length && !underWay.size) await this.idle(settings.pollMs);
        else await Promise.race([...underWay, this.idle(settings.pollMs)]);
      } catch (error) {
        // The database went away for a moment: wait and try again, never die.
        log.error({ channel, error: describe(error) }, 'delivery loop error; retrying');
        await this.idle(settings.pollMs * 4);
      }
    }
    await Promise.allSettled(underWay);
  }

  private idle(ms: number) {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = this.wakeUp.filter((other) => other !== done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp.push(done);
    });
  }

  /** Claims due rows: the first unsent row of each contact on this channel, replies first. */
  private async claim(channel: string, limit: number, onlyIds?: number[]): Promise<ClaimedRow[]> {
    const { db } = this.options;
    const rows = await db.query<ClaimedRow & { priority: number; address_sealed: string | null }>(
      `with next as (
         select o.id from outbox o
         where o.status = 'pending' and o.channel = $1 and o.next_attempt_at <= now()
           and ($3::bigint[] is null or o.id = any($3::bigint[]))
           -- only the contact's first unsent row: per-contact order. Written as a
           -- per-row index probe (not NOT EXISTS) so the plan stays cheap on a table
           -- without statistics (PGlite has no autovacuum).
           and o.id = (
             select first.id from outbox first
             where first.contact_id = o.contact_id and first.channel = o.channel and first.status in ('pending', 'sending')
             order by first.id limit 1)
         order by o.priority, o.id
         limit $2
         for update of o skip locked)
       update outbox o set status = 'sending', claimed_at = now(), claimed_by = $4, attempts = o.attempts + 1
       from next where o.id = next.id
       returning o.id, o.contact_id, o.conversation_id, o.channel, o.address, o.kind, o.body, o.attempts, o.created_at, o.priority,
         (select c.name from contacts c where c.id = o.contact_id) as contact_name,
         (select c.timezone from contacts c where c.id = o.contact_id) as contact_timezone,
         (select i.address_sealed from identities i where i.channel = o.channel and i.address = o.address) as address_sealed`,
      [channel, limit, onlyIds ?? null, this.workerId],
    );
    // What was sealed (TOCSIN_ENCRYPTION_KEY) is opened here, just before it is sent.
    const { cipher } = db;
    return rows
      .map((row) => ({ ...row, recipient: row.address_sealed ? cipher.open(row.address_sealed) : row.address, body: cipher.openJson(row.body), contact_name: cipher.open(row.contact_name) }))
      .sort((a, b) => a.priority - b.priority || a.id - b.id);
  }

  private async sendAll(channelName: string, rows: ClaimedRow[]) {
    await Promise.all(rows.map((row) => this.sendOne(channelName, row)));
  }

  /** Sends one claimed row (or holds it till morning) and records what became of it. */
  private async sendOne(channelName: string, row: ClaimedRow) {
    const channel = this.channels.get(channelName)!;
    const limiter = this.limiters.get(channelName)!;
    const morning = this.quietUntil(row);
    if (morning) return this.settle(row, () => this.hold(row, morning));
    // sendRow throws only when the database fails it before anything was sent.
    const result = await this.sendRow(channel, limiter, personalize(row)).catch((error): SendResult => ({ status: 'retry', reason: describe(error) }));
    if (result === 'stopped') return this.settle(row, () => this.cancel(row, 'recipient stopped, or address on hold, before it went out'));
    await this.settle(row, () => this.record(row, result, limiter));
  }

  /**
   * Writes what became of a claimed row, again and again while the database is away (a
   * restart): a row left `sending` would hold up the contact's next messages for
   * `stuckAfterMs`, then go out a second time.
   */
  private async settle(row: ClaimedRow, write: () => Promise<void>) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await write();
      } catch (error) {
        if (this.stopping) throw error;
        const delayMs = Math.min(5000, this.options.settings.pollMs * 2 ** attempt);
        this.options.log.error({ outbox: row.id, retryInMs: delayMs, error: describe(error) }, 'could not record a send; retrying');
        await sleep(delayMs);
      }
    }
  }

  /** Sends one row (several parts when the text is longer than the channel takes). */
  private async sendRow(channel: Channel, limiter: RateLimiter, row: ClaimedRow): Promise<SendResult | 'stopped'> {
    let last: SendResult = { status: 'sent' };
    for (const [index, part] of fitToChannel(row.body, channel.capabilities).entries()) {
      const wait = limiter.reserve(row.address);
      if (wait > 0) await sleep(wait);
      // Bulk messages wait their turn: someone who said STOP meanwhile gets nothing more;
      // and nothing goes to an address on hold (it bounced).
      if (index === 0 && (row.kind === 'bulk' || channel.capabilities.holds) && (await this.blockedNow(row, row.kind === 'bulk'))) return 'stopped';
      last = await this.sendWithTimeout(channel, row.recipient, part);
      if (last.status !== 'sent') return last;
    }
    return last;
  }

  private async sendWithTimeout(channel: Channel, address: string, message: OutboundMessage): Promise<SendResult> {
    const { sendTimeoutMs } = this.options.settings;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        channel.send(address, message),
        new Promise<SendResult>((resolve) => {
          timer = setTimeout(() => resolve({ status: 'retry', reason: `no answer from ${channel.name} within ${sendTimeoutMs} ms` }), sendTimeoutMs);
        }),
      ]);
    } catch (error) {
      // An adapter that throws met something unexpected (network, a bug): try again later.
      return { status: 'retry', reason: describe(error) };
    } finally {
      clearTimeout(timer);
    }
  }

  private async record(row: ClaimedRow, result: SendResult, limiter: RateLimiter) {
    const { db, metrics, log, settings } = this.options;
    const channel = row.channel;
    if (result.status === 'sent') {
      await this.sentRecords.add({ id: row.id, channelMessageId: db.cipher.seal(result.channelMessageId ?? null), text: db.cipher.seal(row.body.text ?? null) });
      metrics.outbound.inc({ channel, outcome: 'sent' });
      metrics.deliveryLatency.observe({ channel }, (Date.now() - new Date(row.created_at).getTime()) / 1000);
      return;
    }
    if (result.status === 'retry' && row.attempts < settings.maxAttempts) {
      const delayMs = result.afterSeconds !== undefined ? result.afterSeconds * 1000 : backoffMs(row.attempts, settings.backoffBaseMs, settings.backoffMaxMs);
      if (result.scope === 'channel') limiter.pause(delayMs);
      await db.query(
        `update outbox set status = 'pending', claimed_by = null, last_error = $2, next_attempt_at = now() + make_interval(secs => $3) where id = $1`,
        [row.id, result.reason, delayMs / 1000],
      );
      metrics.outbound.inc({ channel, outcome: 'retry' });
      log.info({ channel, outbox: row.id, attempt: row.attempts, retryInMs: delayMs, reason: result.reason }, 'send failed; will retry');
      return;
    }
    const reason = result.status === 'retry' ? `gave up after ${row.attempts} attempts: ${result.reason}` : result.reason;
    await db.transaction(async (tx) => {
      await tx.query(`update outbox set status = 'failed', claimed_by = null, last_error = $2 where id = $1`, [row.id, reason]);
      if (result.status === 'permanent' && result.stopContact) {
        // They blocked us: stopped on this channel, consent withdrawn, nothing more queued for them there.
        await tx.query(`update identities set stopped_at = coalesce(stopped_at, now()) where channel = $1 and address = $2`, [channel, row.address]);
        await tx.query(`insert into consents (contact_id, channel, status, source) values ($1, $2, 'withdrawn', 'blocked')`, [row.contact_id, channel]);
        await tx.query(`update outbox set status = 'cancelled', last_error = 'recipient blocked the bot' where channel = $1 and address = $2 and status = 'pending'`, [channel, row.address]);
      }
    });
    metrics.outbound.inc({ channel, outcome: 'failed' });
    log.warn({ channel, outbox: row.id, reason }, 'send failed permanently');
  }

  /** Bulk messages and reminders are not sent in the contact's quiet hours. */
  private quietUntil(row: ClaimedRow): Date | undefined {
    const { quiet } = this.options;
    if (!quiet || (row.kind !== 'bulk' && row.kind !== 'reminder') || row.body.urgent) return undefined;
    return quietUntil(this.options.now?.() ?? new Date(), row.contact_timezone ?? quiet.defaultTimezone, quiet.hours);
  }

  /**
   * Held until `until`, without counting an attempt. A held row does not hold up the
   * contact's other messages (a reply at night still goes); it is released when due.
   */
  private async hold(row: ClaimedRow, until: Date) {
    await this.options.db.query(`update outbox set status = 'held', claimed_by = null, attempts = attempts - 1, next_attempt_at = $2 where id = $1`, [row.id, until]);
  }

  private async blockedNow(row: ClaimedRow, bulk: boolean): Promise<boolean> {
    const [identity] = await this.options.db.query<{ stopped: boolean; held: boolean }>(
      `select stopped_at is not null as stopped, held_at is not null as held from identities where channel = $1 and address = $2`,
      [row.channel, row.address],
    );
    return !!identity && (identity.held || (bulk && identity.stopped));
  }

  private async cancel(row: ClaimedRow, reason: string) {
    await this.options.db.query(`update outbox set status = 'cancelled', claimed_by = null, last_error = $2 where id = $1`, [row.id, reason]);
    this.options.metrics.outbound.inc({ channel: row.channel, outcome: 'cancelled' });
  }

  /** Rows claimed by a process that died mid-send go back to pending (they may be sent twice); held rows that are due too. */
  private async sweepStuck() {
    if (Date.now() - this.lastStuckSweep < STUCK_SWEEP_EVERY_MS) return;
    this.lastStuckSweep = Date.now();
    await this.options.db.query(`update outbox set status = 'pending' where status = 'held' and next_attempt_at <= $1`, [this.options.now?.() ?? new Date()]);
    const rows = await this.options.db.query(
      `update outbox set status = 'pending', claimed_by = null where status = 'sending' and claimed_at < now() - make_interval(secs => $1) returning id`,
      [this.options.settings.stuckAfterMs / 1000],
    );
    if (rows.length) this.options.log.warn({ count: rows.length }, 'outbox rows stuck in sending were released');
  }
}
