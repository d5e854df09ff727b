// `cordon up --workers N`: the gateway in N processes (node:cluster) that share one port, the
// stores, the access log and the broker, so that a gateway uses every core. What makes that safe
// lives with the state: the access log takes appends from several processes and serves only
// checkpoints that grow (log/access-log.ts), and the broker takes its turns under the store's lock
// (access/journal.ts). So every store must be PostgreSQL: an embedded store is one process's.
//
// The primary opens nothing but the key files (made here once, so that workers starting together do
// not race to make them), starts the workers, starts another when one dies, and on SIGTERM or
// SIGINT asks each to drain and stop (each flushes its log writes and signs a last checkpoint).

import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { Policy } from '../policy/index.js';
import { openFileKeyService } from '../store/index.js';
import { isPgCancelRelay } from '../pgwire/index.js';
import { openLogSigner } from '../log/index.js';
import { dataPaths, ensureDataDir, RuntimeError } from '../server/index.js';
import { UsageError } from './output.js';

/** Set in each worker's environment: its number, 1…N (worker 1 prints the banner). */
export const WORKER_ENV = 'CORDON_WORKER';
/** More restarts than this within RESTART_WINDOW_MS stop the gateway: something is wrong. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;

/** The worker number of this process, or undefined in a process that is not a gateway worker. */
export function workerNumber(): number | undefined {
  return cluster.isWorker && process.env[WORKER_ENV] ? Number(process.env[WORKER_ENV]) : undefined;
}

/** `--workers`: a whole number of processes, or `auto` (one per core). */
export function parseWorkers(value: string): number {
  if (value === 'auto') return availableParallelism();
  if (!/^[1-9][0-9]{0,2}$/.test(value) || Number(value) > 256)
    throw new UsageError(`--workers must be a whole number from 1 to 256, or auto, got ${JSON.stringify(value.slice(0, 40))}`);
  return Number(value);
}

/** Refuses several workers where a process would hold state alone. */
export function checkWorkers(workers: number, demo: boolean, urls: ReadonlyMap<string, string>): void {
  if (workers <= 1) return;
  if (demo) throw new UsageError('--workers runs one process with --demo: the demo keeps its world in embedded stores, which one process opens');
  for (const [name, url] of urls)
    if (!url.startsWith('postgres://') && !url.startsWith('postgresql://'))
      throw new UsageError(
        `--workers ${workers} needs every store on PostgreSQL, but store ${name} is ${url.split(':')[0]}: an embedded store is opened by one process (give --workers 1, or move it)`,
      );
}

/** Makes the key files the workers open, once, before any starts. */
export function prepareDataDir(policy: Policy, dataDir: string): void {
  const paths = dataPaths(dataDir);
  ensureDataDir(paths.root);
  try {
    openFileKeyService(paths.masterKey, { create: true });
    openLogSigner(paths.logKey, policy.deployment.accessLog.origin);
    openLogSigner(paths.statementsKey, `${policy.deployment.accessLog.origin}/statements`);
  } catch (err) {
    throw new RuntimeError(`cannot prepare the data directory ${paths.root}: ${(err as Error).message}`, 3);
  }
}

/**
 * Runs the primary until the workers have stopped: resolves with the exit code (0 when every worker
 * stopped cleanly, 3 when they could not start or kept dying, 1 when one stopped badly).
 */
export function runPrimary(workers: number, say: (line: string) => void): Promise<number> {
  return new Promise((resolve) => {
    const running = new Map<number, Worker>();
    const listening = new Set<number>();
    const restarts: number[] = [];
    let stopping = false;
    let started = false;
    let code = 0;
    const fork = (n: number) => {
      const w = cluster.fork({ [WORKER_ENV]: String(n) });
      running.set(n, w);
      // A wire gateway's cancel for a session the worker does not have: every other worker is asked.
      w.on('message', (m: unknown) => {
        if (!isPgCancelRelay(m)) return;
        for (const other of running.values()) if (other !== w && other.isConnected()) other.send(m);
      });
      w.on('listening', () => {
        listening.add(n);
        if (started) say(`cordon: worker ${n} (pid ${w.process.pid}) serving`);
        else if (listening.size === workers) {
          started = true;
          say(`cordon: ${workers} workers serving (pids ${[...running.values()].map((x) => x.process.pid).join(', ')})`);
        }
      });
      w.on('exit', (exitCode, signal) => {
        if (running.get(n) === w) running.delete(n);
        listening.delete(n);
        if (stopping) {
          // A worker still starting when asked to stop ends by the signal itself: nothing was in flight.
          if (exitCode !== 0 && signal !== 'SIGTERM') code = code || 1;
          if (running.size === 0) resolve(code);
          return;
        }
        const why = signal ? `signal ${signal}` : `code ${exitCode}`;
        const now = Date.now();
        restarts.push(now);
        while (restarts.length > 0 && restarts[0]! < now - RESTART_WINDOW_MS) restarts.shift();
        if (!started || restarts.length > MAX_RESTARTS) {
          say(
            started
              ? `cordon: worker ${n} exited (${why}); ${restarts.length} workers died within ${RESTART_WINDOW_MS / 1000} s, stopping`
              : `cordon: worker ${n} exited (${why}) before it served; stopping`,
          );
          stop(3);
          return;
        }
        say(`cordon: worker ${n} (pid ${w.process.pid}) exited (${why}); starting another`);
        fork(n);
      });
    };
    const stop = (exit: number) => {
      if (stopping) return;
      stopping = true;
      code = exit;
      if (running.size === 0) resolve(code);
      for (const w of running.values()) w.process.kill('SIGTERM');
    };
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        say(`cordon: ${signal} again: stopping the workers now, without draining`);
        for (const w of running.values()) w.process.kill('SIGKILL');
        return;
      }
      stop(0);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    for (let n = 1; n <= workers; n++) fork(n);
  });
}
