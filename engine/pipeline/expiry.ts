// Conversations waiting longer than their flow's `expire` end quietly (nothing is sent).
import type { Sql } from '../store/database.ts';

export async function expireConversations(sql: Sql): Promise<number> {
  const rows = await sql.query(
    `update conversations set status = 'expired', version = version + 1, updated_at = now()
     where status = 'active' and expires_at < now() returning id`,
  );
  return rows.length;
}
