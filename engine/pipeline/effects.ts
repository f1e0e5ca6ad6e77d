// Applies what a flow asked of the store, inside the pipeline's transaction.
import type { Sql } from '../store/database.ts';
import type { Effect } from '../types.ts';

/** Contact fields that are columns; any other field goes into `fields` (custom fields). */
const CONTACT_COLUMNS: Record<string, string> = { name: 'name', language: 'language', timezone: 'timezone' };

export async function applyEffect(tx: Sql, contactId: number, channel: string, effect: Effect): Promise<void> {
  switch (effect.kind) {
    case 'set_contact': {
      const column = CONTACT_COLUMNS[effect.field];
      if (column) {
        await tx.query(`update contacts set ${column} = $2, updated_at = now() where id = $1`, [
          contactId,
          effect.value == null ? null : column === 'name' ? tx.cipher.seal(String(effect.value)) : String(effect.value),
        ]);
      } else {
        await tx.query(`update contacts set fields = fields || jsonb_build_object($2::text, $3::jsonb), updated_at = now() where id = $1`, [
          contactId,
          effect.field,
          JSON.stringify(tx.cipher.sealFieldValue(effect.value)),
        ]);
      }
      return;
    }
    case 'join':
      await tx.query(`insert into groups (name) values ($1) on conflict (name) do nothing`, [effect.group]);
      await tx.query(`insert into memberships (contact_id, group_id) select $1, id from groups where name = $2 on conflict do nothing`, [contactId, effect.group]);
      return;
    case 'leave':
      await tx.query(`delete from memberships where contact_id = $1 and group_id in (select id from groups where name = $2)`, [contactId, effect.group]);
      return;
    case 'consent':
      await tx.query(`insert into consents (contact_id, channel, status, source, wording) values ($1, $2, $3, $4, $5)`, [contactId, channel, effect.status, effect.source, effect.wording ?? null]);
      return;
  }
}
