// TOCSIN_RETENTION_DAYS: message texts older than this are scrubbed (inbound and outbound,
// and the outbox copies of sent messages). Delivery statistics — who got what when, the
// counts — are kept.
import type { Sql } from '../store/database.ts';

export async function scrubOldTexts(sql: Sql, days: number, now = new Date()): Promise<number> {
  const cutoff = new Date(now.getTime() - days * 86_400_000);
  const messages = await sql.query(`update messages set text = null, payload = null where created_at < $1 and (text is not null or payload is not null) returning id`, [cutoff]);
  await sql.query(
    `update outbox set body = jsonb_build_object('text', '', 'scrubbed', true) where created_at < $1 and status in ('sent', 'failed', 'cancelled') and not (body ? 'scrubbed')`,
    [cutoff],
  );
  return messages.length;
}
