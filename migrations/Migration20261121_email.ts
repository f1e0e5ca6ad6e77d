// E-mail: bounced addresses are held.
import { Migration } from '@mikro-orm/migrations';

export class Migration20261121_email extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "identities" add "held_at" timestamptz null, add "bounces" int not null default 0`);
  }
}
