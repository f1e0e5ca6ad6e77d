// One owner for the embedded database: PGlite's files must never be opened by two
// processes. The owner writes `<data dir>/owner.json` (pid, command, and for a running
// engine the socket other commands can go through); a file left by a dead process is
// taken over.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface Owner {
  pid: number;
  command: string;
  /** The engine's local socket, when the owner is `tocsin start`. */
  socket?: string;
  since: string;
}

export type Claim = { ok: true; release(): void } | { ok: false; owner: Owner };

export function claimEmbeddedDatabase(dataDir: string, command: string, socket?: string): Claim {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, 'owner.json');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      const me: Owner = { pid: process.pid, command, socket, since: new Date().toISOString() };
      writeSync(fd, JSON.stringify(me));
      closeSync(fd);
      return {
        ok: true,
        release() {
          if (readOwner(path)?.pid === process.pid) rmSync(path, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = readOwner(path);
      if (owner && isAlive(owner.pid)) return { ok: false, owner };
      rmSync(path, { force: true }); // left by a process that is gone
    }
  }
  const owner = readOwner(path);
  return { ok: false, owner: owner ?? { pid: 0, command: 'unknown', since: '' } };
}

/** The live process that has the embedded database open, if any (nothing is claimed). */
export function currentOwner(dataDir: string): Owner | undefined {
  const owner = readOwner(join(dataDir, 'owner.json'));
  return owner && isAlive(owner.pid) ? owner : undefined;
}

function readOwner(path: string): Owner | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Owner;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
