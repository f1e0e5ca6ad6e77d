// Event reminders and follow-ups (one row per event, contact and kind), and per-event settings.
import { Migration } from '@mikro-orm/migrations';

export class Migration20261121_reminders extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "event_reminders" ("id" bigserial primary key, "event_id" bigint not null, "contact_id" bigint not null, "kind" text not null, "due_at" timestamptz not null, "status" text not null, "created_at" timestamptz not null default now())`);
    this.addSql(`create index "event_reminders_contact_id_index" on "event_reminders" ("contact_id")`);
    this.addSql(`alter table "event_reminders" add constraint "event_reminders_unique" unique ("event_id", "contact_id", "kind")`);
    this.addSql(`alter table "events" add "reminders" jsonb not null default '[86400, 7200]', add "followup_flow" text null`);
    this.addSql(`alter table "event_reminders" add constraint "event_reminders_event_id_foreign" foreign key ("event_id") references "events" ("id") on delete cascade`);
    this.addSql(`alter table "event_reminders" add constraint "event_reminders_contact_id_foreign" foreign key ("contact_id") references "contacts" ("id") on delete cascade`);
  }
}
