// Encryption at rest: identities keep a sealed address next to the blind index, and the
// database remembers which key its data is sealed with.
import { Migration } from '@mikro-orm/migrations';

export class Migration20261121_encryption extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "identities" add "address_sealed" text null`);
    this.addSql(`create table "encryption_keys" ("key_id" text not null, "created_at" timestamptz not null default now(), "retired_at" timestamptz null, primary key ("key_id"))`);
  }
}
