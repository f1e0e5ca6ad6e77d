// The WhatsApp Web session, kept in the database (RemoteAuth store).
import { Migration } from '@mikro-orm/migrations';

export class Migration20261121_whatsapp extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "whatsapp_sessions" ("session" text not null, "data" bytea not null, "updated_at" timestamptz not null default now(), primary key ("session"))`);
  }
}
