// Every flow version the engine runs is stored by content hash, so a conversation can
// finish on the version it started with — after an edit, and after a restart.
import type { Sql } from '../store/database.ts';
import type { Flow } from '../types.ts';
import { parseFlowFile } from './loader.ts';

export async function saveFlowVersions(sql: Sql, flows: Flow[]): Promise<void> {
  if (!flows.length) return;
  await sql.query(
    `insert into flow_versions (flow, version, source)
     select f->>'id', f->>'version', f->>'source' from jsonb_array_elements($1::jsonb) as f
     on conflict (flow, version) do nothing`,
    [JSON.stringify(flows.map((flow) => ({ id: flow.id, version: flow.version, source: flow.source })))],
  );
}

/** A stored version of a flow, or undefined when it was never stored. */
export async function loadFlowVersion(sql: Sql, id: string, version: string): Promise<Flow | undefined> {
  const [row] = await sql.query<{ source: string }>(`select source from flow_versions where flow = $1 and version = $2`, [id, version]);
  if (!row) return undefined;
  const { file } = parseFlowFile(`${id}.yaml`, row.source);
  return file?.toFlow();
}
