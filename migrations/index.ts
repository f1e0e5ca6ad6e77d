// Every migration, oldest first. A new migration is a new file here and one line below.
import { Migration20261121_core } from './Migration20261121_core.ts';
import { Migration20261121_flows } from './Migration20261121_flows.ts';
import { Migration20261121_whatsapp } from './Migration20261121_whatsapp.ts';
import { Migration20261121_broadcasts } from './Migration20261121_broadcasts.ts';
import { Migration20261121_reminders } from './Migration20261121_reminders.ts';
import { Migration20261121_email } from './Migration20261121_email.ts';
import { Migration20261121_encryption } from './Migration20261121_encryption.ts';

export const migrations = [
  { name: 'Migration20261121_core', class: Migration20261121_core },
  { name: 'Migration20261121_flows', class: Migration20261121_flows },
  { name: 'Migration20261121_whatsapp', class: Migration20261121_whatsapp },
  { name: 'Migration20261121_broadcasts', class: Migration20261121_broadcasts },
  { name: 'Migration20261121_reminders', class: Migration20261121_reminders },
  { name: 'Migration20261121_email', class: Migration20261121_email },
  { name: 'Migration20261121_encryption', class: Migration20261121_encryption },
];
