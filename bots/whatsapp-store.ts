// The WhatsApp Web session in PostgreSQL: a store for whatsapp-web.js's RemoteAuth. The
// session zip RemoteAuth writes to its data folder is kept as bytes in whatsapp_sessions,
// so the login survives restarts and moves between machines with the database.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Sql } from '../engine/store/database.ts';

export class PostgresSessionStore {
  /** `dataPath` is RemoteAuth's own `dataPath`, where it writes `<session>.zip` before `save`. */
  constructor(
    private readonly sql: Sql,
    private readonly dataPath: string,
  ) {}

  async sessionExists({ session }: { session: string }): Promise<boolean> {
    const rows = await this.sql.query(`select 1 from whatsapp_sessions where session = $1`, [session]);
    return rows.length > 0;
  }

  async save({ session }: { session: string }): Promise<void> {
    const data = await readFile(join(this.dataPath, `${session}.zip`));
    await this.sql.query(
      `insert into whatsapp_sessions (session, data) values ($1, $2)
       on conflict (session) do update set data = excluded.data, updated_at = now()`,
      [session, data],
    );
  }

  async extract({ session, path }: { session: string; path: string }): Promise<void> {
    const [row] = await this.sql.query<{ data: Uint8Array }>(`select data from whatsapp_sessions where session = $1`, [session]);
    if (row) await writeFile(path, row.data);
  }

  async delete({ session }: { session: string }): Promise<void> {
    await this.sql.query(`delete from whatsapp_sessions where session = $1`, [session]);
  }
}
