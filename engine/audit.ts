// The audit log of organizer actions: who, when, what, how many. Never supporters' data.
import type { Sql } from './store/database.ts';

export async function audit(sql: Sql, actor: string, action: string, details: Record<string, unknown> = {}): Promise<void> {
  await sql.query(`insert into audit_log (actor, action, details) values ($1, $2, $3::jsonb)`, [actor, action, JSON.stringify(details)]);
}
