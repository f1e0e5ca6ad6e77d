// Broadcasts (alerts to a segment), their outbox rows, and the organizers' audit log.
import { Migration } from '@mikro-orm/migrations';

export class Migration20261121_broadcasts extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "audit_log" ("id" bigserial primary key, "actor" text not null, "action" text not null, "details" jsonb not null default '{}', "created_at" timestamptz not null default now())`);
    this.addSql(`create table "broadcasts" ("id" bigserial primary key, "created_by" text not null, "segment" text not null, "message" jsonb not null, "status" text not null default 'previewed', "recipients" int not null default 0, "slack_channel" text null, "slack_ts" text null, "created_at" timestamptz not null default now(), "started_at" timestamptz null, "finished_at" timestamptz null)`);
    this.addSql(`alter table "outbox" add "broadcast_id" bigint null`);
    this.addSql(`create index "outbox_broadcast_index" on "outbox" ("broadcast_id", "status") where broadcast_id is not null`);
  }
}
