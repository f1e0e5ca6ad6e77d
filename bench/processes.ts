// Child processes for the benchmarks: `tocsin start` as an operator runs it, and the peer
// bot. Each is ready when it logs a JSON line with its `url`; its RSS is read from /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const root = resolve(import.meta.dirname, '..');

export interface Child {
  name: string;
  pid: number;
  url: string;
  rssMb(): number;
  stop(): Promise<void>;
}

/** `tocsin start` with this environment (and nothing else from ours but PATH and HOME); `nodeArgs` such as --cpu-prof. */
export function startEngine(name: string, env: Record<string, string>, nodeArgs: string[] = []): Promise<Child> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tocsin-bench-engine-'));
  return startChild(name, [...nodeArgs, join(root, 'engine/cli/tocsin.js'), 'start'], { TOCSIN_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env }, () =>
    rmSync(dataDir, { recursive: true, force: true }),
  );
}

/** A TypeScript file of this project in a process of its own. */
export function startScript(name: string, file: string, env: Record<string, string>): Promise<Child> {
  return startChild(name, [join(root, 'engine/cli/run-ts.js'), file], env);
}

function startChild(name: string, args: string[], env: Record<string, string>, cleanup = () => {}): Promise<Child> {
  const child = spawn(process.execPath, args, { cwd: root, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  const keep = (line: string) => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
  };
  createInterface({ input: child.stderr! }).on('line', keep);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  return new Promise((resolveReady, reject) => {
    const timer = setTimeout(() => fail(new Error(`${name} did not start within 60 s`)), 60_000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      cleanup();
      reject(new Error(`${error.message}\n${tail.join('\n')}`));
    };
    const early = (code: number | null) => fail(new Error(`${name} exited with ${code} before it was ready`));
    child.once('exit', early);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      keep(line);
      const url = readyUrl(line);
      if (!url) return;
      clearTimeout(timer);
      child.off('exit', early);
      resolveReady({ name, pid: child.pid!, url, rssMb: () => rssMb(child.pid!), stop: () => stop(child, exited, cleanup) });
    });
  });
}

/** The `url` of the JSON log line saying the process is ready (the engine's "Tocsin is running on", the peer's "listening"). */
function readyUrl(line: string): string | undefined {
  try {
    const { url, msg } = JSON.parse(line) as { url?: unknown; msg?: unknown };
    return typeof url === 'string' && typeof msg === 'string' && /^(Tocsin is running on|listening)/.test(msg) ? url : undefined;
  } catch {
    return undefined;
  }
}

async function stop(child: ChildProcess, exited: Promise<void>, cleanup: () => void) {
  if (child.exitCode === null) {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
  cleanup();
}

/** Resident memory of a process, in MB (Linux). */
export function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Math.round(Number(match[1]) / 1024) : 0;
}
