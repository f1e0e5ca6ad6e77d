// The right to erasure. The person's name, identities, fields, message texts, free-text
// answers and consent details are removed or scrubbed in every table the engine writes —
// the outbox and conversations included. What counts keep working: the contact row stays
// as an empty tombstone ("erased") so RSVP counts, survey totals and broadcast statistics
// stay right. The audit log records that an erasure happened, not what was erased.
import { audit } from '../audit.ts';
import { TocsinError } from '../errors.ts';
import type { Sql } from '../store/database.ts';

export async function eraseContact(tx: Sql, id: number, actor: string): Promise<void> {
  const [contact] = await tx.query(`select id from contacts where id = $1 for update`, [id]);
  if (!contact) throw new TocsinError(`no contact ${id}`);
  await tx.query(`update contacts set name = null, language = null, timezone = null, fields = '{}', status = 'erased', last_seen_at = null, updated_at = now() where id = $1`, [id]);
  await tx.query(`delete from identities where contact_id = $1`, [id]);
  await tx.query(`delete from memberships where contact_id = $1`, [id]);
  await tx.query(`delete from consents where contact_id = $1`, [id]);
  await tx.query(`update messages set text = null, payload = null, address = 'erased', channel_message_id = null where contact_id = $1`, [id]);
  await tx.query(
    `update outbox set body = '{"text": ""}', address = 'erased', last_error = null, channel_message_id = null,
            status = case when status in ('pending', 'held', 'sending') then 'cancelled' else status end
     where contact_id = $1`,
    [id],
  );
  await tx.query(`update conversations set vars = '{}', answers = '{}', status = case when status = 'active' then 'ended' else status end where contact_id = $1`, [id]);
  // Choices and numbers keep the totals right; what the person wrote goes.
  await tx.query(`update survey_answers set value_text = case when type in ('choice', 'yes_no', 'language', 'event') then value_text end, contact_id = null, conversation_id = null where contact_id = $1`, [id]);
  await tx.query(`delete from event_reminders where contact_id = $1`, [id]);
  await audit(tx, actor, 'contact.erase', { contact: id });
}
