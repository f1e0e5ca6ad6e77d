// Flow versions (by content hash), events and RSVPs, and typed survey answers.
import { Migration } from '@mikro-orm/migrations';

export class Migration20261121_flows extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "events" ("id" bigserial primary key, "slug" text not null, "title" jsonb not null, "description" jsonb null, "starts_at" timestamptz not null, "ends_at" timestamptz null, "timezone" text not null, "place" text null, "latitude" double precision null, "longitude" double precision null, "capacity" int null, "rsvp_deadline" timestamptz null, "status" text not null default 'scheduled', "created_at" timestamptz not null default now())`);
    this.addSql(`alter table "events" add constraint "events_slug_unique" unique ("slug")`);
    this.addSql(`create table "flow_versions" ("id" bigserial primary key, "flow" text not null, "version" text not null, "source" text not null, "created_at" timestamptz not null default now())`);
    this.addSql(`alter table "flow_versions" add constraint "flow_versions_flow_version_unique" unique ("flow", "version")`);
    this.addSql(`create table "rsvps" ("id" bigserial primary key, "event_id" bigint not null, "contact_id" bigint not null, "answer" text not null, "waitlisted_at" timestamptz null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now())`);
    this.addSql(`create index "rsvps_contact_id_index" on "rsvps" ("contact_id")`);
    this.addSql(`alter table "rsvps" add constraint "rsvps_event_contact_unique" unique ("event_id", "contact_id")`);
    this.addSql(`create table "survey_answers" ("id" bigserial primary key, "contact_id" bigint null, "conversation_id" bigint null, "flow" text not null, "question" text not null, "type" text not null, "value_text" text null, "value_number" double precision null, "value_choices" jsonb null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now())`);
    this.addSql(`create index "survey_answers_flow_question_index" on "survey_answers" ("flow", "question")`);
    this.addSql(`alter table "survey_answers" add constraint "survey_answers_contact_question_unique" unique ("contact_id", "flow", "question")`);
    this.addSql(`alter table "rsvps" add constraint "rsvps_event_id_foreign" foreign key ("event_id") references "events" ("id") on delete cascade`);
    this.addSql(`alter table "rsvps" add constraint "rsvps_contact_id_foreign" foreign key ("contact_id") references "contacts" ("id") on delete cascade`);
    this.addSql(`alter table "survey_answers" add constraint "survey_answers_contact_id_foreign" foreign key ("contact_id") references "contacts" ("id") on delete set null`);
  }
}
