// Runs the real `tocsin` command in a child process.
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { ROOT } from './services.ts';

const BIN = resolve(ROOT, 'engine/cli/tocsin.js');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `tocsin ...args` to completion, with `input` on stdin. */
export function tocsin(args: string[], env: Record<string, string>, input = ''): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { PATH: process.env.PATH!, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** Starts `tocsin start` and resolves with its URL once it says it is running. */
export function startEngine(env: Record<string, string>): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, 'start'], { cwd: ROOT, env: { PATH: process.env.PATH!, PORT: '0', ...env } });
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk;
      const match = /"url":"(http:\/\/[^"]+)"/.exec(output);
      if (match) resolvePromise({ child, url: match[1]!, output: () => output });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('close', (code) => reject(new Error(`tocsin start exited with ${code}: ${output}`)));
  });
}

/** Resolves with the exit code once the child has exited. */
export function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolvePromise) => {
    if (child.exitCode !== null) return resolvePromise(child.exitCode);
    child.once('exit', (code) => resolvePromise(code));
  });
}
