// A PostgreSQL cluster of the test's own (initdb into a temporary directory, trust
// authentication, a free port, its socket in that directory), to stop and start under
// load without touching the server other test files share. PostgreSQL refuses to run as
// root: as root, its commands run as the `postgres` user (runuser).
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The directory of initdb and pg_ctl: PG_BIN, else what pg_config says, else PATH. */
function binaries(): string | undefined {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  try {
    return execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

/** Why a private cluster cannot be made here, or undefined when it can. */
export function privatePostgresMissing(): string | undefined {
  const bin = binaries();
  if (!bin || !existsSync(join(bin, 'initdb'))) return 'initdb not found (set PG_BIN to the directory of initdb and pg_ctl)';
  if (process.getuid?.() === 0) {
    try {
      execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
    } catch {
      return 'running as root and there is no postgres user to run PostgreSQL as';
    }
  }
  return undefined;
}

export class PrivatePostgres {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly bin: string,
    private readonly asUser: string[],
  ) {}

  /** A new cluster, initialized and started. */
  static async create(): Promise<PrivatePostgres> {
    const bin = binaries()!;
    const dir = mkdtempSync(join(tmpdir(), 'tocsin-pg-'));
    let asUser: string[] = [];
    if (process.getuid?.() === 0) {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
      chownSync(dir, uid, gid);
      asUser = ['runuser', '-u', 'postgres', '--'];
    }
    const cluster = new PrivatePostgres(dir, await freePort(), bin, asUser);
    await cluster.pg('initdb', ['-D', cluster.data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale', 'C']);
    await cluster.start();
    return cluster;
  }

  get data() {
    return join(this.dir, 'data');
  }

  get url() {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  async start() {
    // fsync off: a test cluster, thrown away afterwards.
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`;
    await this.pg('pg_ctl', ['start', '-w', '-t', '30', '-D', this.data, '-l', join(this.dir, 'log'), '-o', options]);
  }

  /** `fast`: connections are closed, transactions under way rolled back (a restart). */
  async stop(mode: 'fast' | 'immediate' = 'fast') {
    await this.pg('pg_ctl', ['stop', '-w', '-t', '30', '-D', this.data, '-m', mode]);
  }

  /** Stops the cluster if it runs, and deletes it. */
  async destroy() {
    await this.stop('immediate').catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async pg(command: string, args: string[]) {
    const [file, ...rest] = [...this.asUser, join(this.bin, command), ...args];
    await run(file!, rest, { cwd: this.dir });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
