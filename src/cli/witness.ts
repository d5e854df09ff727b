// `cordon witness init | serve`: a C2SP tlog-witness for cordon access logs (or any C2SP log):
// make its key, then serve add-checkpoint for the logs it is told to trust.

import { Command } from 'commander';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import {
  createWitness,
  generateWitnessKey,
  isValidKeyName,
  parseVerifierKey,
  parseWitnessKey,
  witnessRoutes,
  WitnessStateError,
  type WitnessEvidence,
  type WitnessLog,
} from '../log/index.js';
import { UsageError, Unreachable, fileFailure, printJson } from './output.js';
import { readKeyArg } from './log.js';

export const DEFAULT_WITNESS_PORT = 7380;
export const DEFAULT_WITNESS_HOST = '127.0.0.1';

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}

/** Reads and parses a witness key file; refuses one that others can read. */
function readWitnessKey(path: string): ReturnType<typeof parseWitnessKey> {
  let mode: number;
  try {
    mode = statSync(path).mode & 0o777;
  } catch (err) {
    throw new Unreachable(
      isErrno(err, 'ENOENT')
        ? `cannot read --key ${path}: no such file (create one with cordon witness init)`
        : `cannot read --key ${path}: ${fileFailure(err) ?? message(err)}`,
    );
  }
  if (mode & 0o077) throw new UsageError(`--key ${path} is readable by others (mode ${mode.toString(8)}); run chmod 600 ${path}`);
  try {
    return parseWitnessKey(readFileSync(path, 'utf8').trim());
  } catch (err) {
    const unreadable = fileFailure(err);
    if (unreadable !== undefined) throw new Unreachable(`cannot read --key ${path}: ${unreadable}`);
    throw new UsageError(`--key ${path} does not hold a witness key: ${message(err)}`);
  }
}

function parseLogs(vkeys: readonly string[]): WitnessLog[] {
  if (vkeys.length === 0) throw new UsageError('give at least one --log VKEY (the verifier key of a log to witness)');
  return vkeys.map((vkey) => {
    let v: ReturnType<typeof parseVerifierKey>;
    try {
      v = parseVerifierKey(readKeyArg(vkey.trim(), '--log'));
    } catch (err) {
      if (err instanceof Unreachable) throw err;
      throw new UsageError(`--log ${JSON.stringify(vkey.slice(0, 80))}: ${message(err)}`);
    }
    if (v.type !== 0x01) throw new UsageError(`--log ${v.name}: a log key must be an Ed25519 note key (type 0x01), not a witness key`);
    // A log's key is named after its origin (c2sp.org/tlog-checkpoint).
    return { origin: v.name, vkey: v.vkey };
  });
}

interface InitOptions {
  name: string;
  key: string;
  json?: boolean;
}

interface ServeOptions {
  key: string;
  log?: string[];
  state: string;
  port: string;
  host: string;
  json?: boolean;
}

export function witnessCommand(): Command {
  const cmd = new Command('witness').description('a C2SP tlog-witness: cosigns log checkpoints that extend the last one it cosigned');

  cmd
    .command('init')
    .description('create a witness key (cosignature/v1) in a new 0600 file and print its verifier key')
    .requiredOption('--name <name>', 'witness name, e.g. witness.example.com/w1')
    .requiredOption('--key <file>', 'where to write the private key (never overwritten)')
    .option('--json', 'print the result as JSON')
    .action((opts: InitOptions) => {
      if (!isValidKeyName(opts.name)) throw new UsageError(`--name ${JSON.stringify(opts.name)}: a key name must be non-empty, without spaces or "+"`);
      const path = resolve(opts.key);
      const { skey, vkey } = generateWitnessKey(opts.name);
      try {
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
        writeFileSync(path, `${skey}\n`, { mode: 0o600, flag: 'wx' });
        chmodSync(path, 0o600);
      } catch (err) {
        if (isErrno(err, 'EEXIST')) throw new UsageError(`--key ${opts.key} exists; a witness key is never overwritten (move it away first)`);
        throw new Unreachable(`cannot write --key ${opts.key}: ${fileFailure(err) ?? message(err)}`);
      }
      if (opts.json) printJson({ name: opts.name, key: path, vkey });
      else process.stdout.write(`${vkey}\n`);
    });

  cmd
    .command('serve')
    .description('serve POST /add-checkpoint (c2sp.org/tlog-witness) for the given logs')
    .requiredOption('--key <file>', 'witness private key file (from cordon witness init)')
    .option('--log <vkey>', 'verifier key of a log to witness, or a file holding it; its name is the origin (repeatable, at least one)', collect)
    .requiredOption('--state <file>', 'state file: the last checkpoint cosigned per log')
    .option('--port <n>', 'port', String(DEFAULT_WITNESS_PORT))
    .option('--host <addr>', 'address to listen on', DEFAULT_WITNESS_HOST)
    .option('--json', 'print the startup summary as JSON (evidence always goes to stderr as JSON lines)')
    .action(async (opts: ServeOptions) => {
      const port = Number(opts.port);
      if (!/^[0-9]+$/.test(opts.port) || !Number.isInteger(port) || port > 65535)
        throw new UsageError(`--port must be a port number, got ${JSON.stringify(opts.port)}`);
      const signer = readWitnessKey(opts.key);
      const logs = parseLogs(opts.log ?? []);
      const statePath = resolve(opts.state);
      const onEvidence = (e: WitnessEvidence): void => {
        // Evidence of a misbehaving log is the point of a witness: always on stderr, one JSON line.
        process.stderr.write(`${JSON.stringify({ evidence: e })}\n`);
      };
      let witness: ReturnType<typeof createWitness>;
      try {
        mkdirSync(dirname(statePath), { recursive: true, mode: 0o700 });
        witness = createWitness({ signer, logs, statePath, onEvidence });
      } catch (err) {
        if (err instanceof WitnessStateError) throw new UsageError(err.message);
        throw new UsageError(`--state ${opts.state}: ${message(err)}`);
      }
      process.stdout.on('error', () => {});
      const app: FastifyInstance = Fastify({ logger: false });
      await app.register(witnessRoutes, { witness });
      try {
        await app.listen({ port, host: opts.host });
      } catch (err) {
        await app.close();
        throw new UsageError(`cannot listen on ${opts.host}:${port}: ${message(err)}`);
      }
      const addr = app.server.address();
      const actualPort = typeof addr === 'object' && addr ? addr.port : port;
      const url = `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${actualPort}`;
      const origins = [...new Set(logs.map((l) => l.origin))];
      if (opts.json) {
        printJson({ name: signer.name, vkey: signer.vkey, url, addCheckpoint: `${url}/add-checkpoint`, logs: origins, state: statePath });
      } else {
        const lines = [
          `witness ${signer.name} is serving ${url}/add-checkpoint`,
          `  vkey   ${signer.vkey}`,
          `  state  ${statePath}`,
          ...origins.map((o) => `  log    ${o}`),
          '',
          'Ctrl-C stops.',
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      await new Promise<void>((done) => {
        const stop = (): void => {
          void app.close().then(done, done);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      process.exitCode = 0;
    });

  return cmd;
}
