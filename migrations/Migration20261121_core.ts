// The first schema: contacts, identities, groups, consent, conversations, messages, outbox.
// Landed migrations are never edited: change the schema with a new one.
import { Migration } from '@mikro-orm/migrations';

export class Migration20261121_core extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "contacts" ("id" bigserial primary key, "name" text null, "language" text null, "timezone" text null, "status" text not null default 'active', "fields" jsonb not null default '{}', "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), "last_seen_at" timestamptz null)`);
    this.addSql(`create table "consents" ("id" bigserial primary key, "contact_id" bigint not null, "channel" text not null, "status" text not null, "source" text not null, "wording" text null, "created_at" timestamptz not null default now())`);
    this.addSql(`create index "consents_contact_channel_index" on "consents" ("contact_id", "channel", "id")`);
    this.addSql(`create table "conversations" ("id" bigserial primary key, "contact_id" bigint not null, "flow" text not null, "flow_version" text not null, "step" text not null, "status" text not null, "vars" jsonb not null default '{}', "answers" jsonb not null default '{}', "retries" int not null default 0, "expires_at" timestamptz null, "version" int not null default 1, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now())`);
    this.addSql(`create index "conversations_expiry_index" on "conversations" ("expires_at") where status = 'active'`);
    this.addSql(`create unique index "conversations_one_active_per_contact" on "conversations" ("contact_id") where status = 'active'`);
    this.addSql(`create table "groups" ("id" bigserial primary key, "name" text not null, "created_at" timestamptz not null default now())`);
    this.addSql(`alter table "groups" add constraint "groups_name_unique" unique ("name")`);
    this.addSql(`create table "identities" ("id" bigserial primary key, "contact_id" bigint not null, "channel" text not null, "address" text not null, "display_name" text null, "stopped_at" timestamptz null, "created_at" timestamptz not null default now())`);
    this.addSql(`create index "identities_contact_id_index" on "identities" ("contact_id")`);
    this.addSql(`alter table "identities" add constraint "identities_channel_address_unique" unique ("channel", "address")`);
    this.addSql(`create table "memberships" ("contact_id" bigint not null, "group_id" bigint not null, "joined_at" timestamptz not null default now(), primary key ("contact_id", "group_id"))`);
    this.addSql(`create index "memberships_group_id_index" on "memberships" ("group_id")`);
    this.addSql(`create table "messages" ("id" bigserial primary key, "contact_id" bigint not null, "conversation_id" bigint null, "direction" text not null, "channel" text not null, "address" text not null, "channel_message_id" text null, "text" text null, "payload" jsonb null, "status" text not null, "created_at" timestamptz not null default now(), "processed_at" timestamptz null)`);
    this.addSql(`create index "messages_contact_index" on "messages" ("contact_id", "id")`);
    this.addSql(`create index "messages_unprocessed_index" on "messages" ("contact_id", "id") where status = 'received'`);
    this.addSql(`create unique index "messages_inbound_dedupe" on "messages" ("channel", "channel_message_id") where direction = 'in'`);
    this.addSql(`create table "outbox" ("id" bigserial primary key, "contact_id" bigint not null, "conversation_id" bigint null, "reply_to" bigint null, "channel" text not null, "address" text not null, "kind" text not null, "priority" smallint not null default 0, "body" jsonb not null, "status" text not null default 'pending', "attempts" int not null default 0, "next_attempt_at" timestamptz not null default now(), "claimed_at" timestamptz null, "claimed_by" text null, "last_error" text null, "channel_message_id" text null, "created_at" timestamptz not null default now(), "sent_at" timestamptz null)`);
    this.addSql(`create index "outbox_reply_to_index" on "outbox" ("reply_to")`);
    this.addSql(`create index "outbox_due_index" on "outbox" ("channel", "priority", "id") where status = 'pending'`);
    this.addSql(`create index "outbox_unsent_per_contact_index" on "outbox" ("contact_id", "channel", "id") where status in ('pending', 'sending')`);
    this.addSql(`create index "outbox_sending_index" on "outbox" ("claimed_at") where status = 'sending'`);
    this.addSql(`alter table "consents" add constraint "consents_contact_id_foreign" foreign key ("contact_id") references "contacts" ("id") on delete cascade`);
    this.addSql(`alter table "conversations" add constraint "conversations_contact_id_foreign" foreign key ("contact_id") references "contacts" ("id") on delete cascade`);
    this.addSql(`alter table "identities" add constraint "identities_contact_id_foreign" foreign key ("contact_id") references "contacts" ("id") on delete cascade`);
    this.addSql(`alter table "memberships" add constraint "memberships_contact_id_foreign" foreign key ("contact_id") references "contacts" ("id") on update cascade on delete cascade`);
    this.addSql(`alter table "memberships" add constraint "memberships_group_id_foreign" foreign key ("group_id") references "groups" ("id") on update cascade on delete cascade`);
    this.addSql(`alter table "messages" add constraint "messages_contact_id_foreign" foreign key ("contact_id") references "contacts" ("id") on delete cascade`);
    this.addSql(`alter table "outbox" add constraint "outbox_contact_id_foreign" foreign key ("contact_id") references "contacts" ("id") on delete cascade`);
  }
}
