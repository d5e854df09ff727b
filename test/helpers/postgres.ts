// A real, throwaway PostgreSQL server for tests: its own temporary data directory, a free port on
// 127.0.0.1, trust authentication for the role `cordon`, stopped and removed by stop() (or, if a test
// crashes before calling stop(), when the process exits). Never skipped: if the server binaries are
// missing, startPostgres() throws saying what is missing and how CI installs it.
import { execFile, spawnSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PostgresServer {
  /** postgres://cordon@127.0.0.1:PORT/DATABASE (trust auth, no password). */
  readonly url: string;
  readonly port: number;
  /** The temporary data directory; it also holds the unix socket and server.log. */
  readonly dataDir: string;
  /** Stops the server (fast shutdown) and removes the data directory. Safe to call twice. */
  stop(): Promise<void>;
  /**
   * With `pgaudit: true`: the server's csvlog (one CSV record per log message, pgaudit's AUDIT lines
   * among them). Written by the server's logging collector, so it may lag a statement by a moment.
   */
  readonly csvLog: string | undefined;
  /** Stops the server but keeps its data (an outage); resume() starts it again on the same port. */
  pause(): Promise<void>;
  resume(): Promise<void>;
}

export interface StartPostgresOptions {
  /** Database to create and put in the URL (default `cordon_test`). */
  readonly database?: string;
  /**
   * Load pgaudit (shared_preload_libraries, from the Debian package postgresql-15-pgaudit, which
   * .ci/run installs) with session logging of reads and function calls (`pgaudit.log = 'read, function'`,
   * one line per relation),
   * create the extension in the database, and write the server log as csvlog to `csvLog`.
   */
  readonly pgaudit?: boolean;
  /** Load pg_stat_statements (in PostgreSQL's contrib, part of postgresql-15) and create the extension. */
  readonly pgStatStatements?: boolean;
}

/** The role initdb creates as superuser; it is the user in every URL. */
export const PG_USER = 'cordon';

const DEFAULT_BIN = '/usr/lib/postgresql/15/bin';
const SERVER_PROGRAMS = ['initdb', 'pg_ctl', 'postgres', 'createdb'] as const;
const CHILD_TIMEOUT_MS = 120_000;

/**
 * The directory holding initdb, pg_ctl, postgres, createdb (and psql): $PG_BIN if set, else
 * /usr/lib/postgresql/15/bin, else the newest /usr/lib/postgresql/<version>/bin. Throws if the
 * programs are not all there.
 */
export function pgBin(): string {
  const fromEnv = process.env['PG_BIN'];
  let dir: string;
  if (fromEnv !== undefined && fromEnv !== '') {
    dir = fromEnv;
  } else if (existsSync(join(DEFAULT_BIN, 'initdb'))) {
    dir = DEFAULT_BIN;
  } else {
    dir = newestInstalledBin() ?? DEFAULT_BIN;
  }
  const missing = SERVER_PROGRAMS.map((p) => join(dir, p)).filter((p) => !existsSync(p));
  if (missing.length > 0) {
    const where = fromEnv ? `PG_BIN=${fromEnv}` : `${DEFAULT_BIN} (nor any /usr/lib/postgresql/*/bin)`;
    throw new Error(
      `PostgreSQL server binaries not found in ${where}: missing ${missing.join(', ')}. ` +
        `Tests need a real PostgreSQL server. Install the Debian package postgresql-15 ` +
        `(CI's .ci/run must install it: DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql-15), ` +
        `or set PG_BIN to a directory holding ${SERVER_PROGRAMS.join(', ')}.`,
    );
  }
  return dir;
}

function newestInstalledBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => /^\d+(\.\d+)?$/.test(v) && existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

/** Starts a fresh server and creates `options.database` in it. */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const database = options.database ?? 'cordon_test';
  const bin = pgBin();
  const asRoot = process.getuid?.() === 0;
  const serverUser = asRoot ? postgresOsUser() : undefined;

  const dataDir = mkdtempSync(join(tmpdir(), 'cordon-pg-'));
  const live: Live = { dataDir, bin, asRoot, running: false };
  liveServers.add(live);
  installExitHandlers();
  try {
    if (serverUser) chownSync(dataDir, serverUser.uid, serverUser.gid);
    // As root, the server programs run as the `postgres` OS user (postgres refuses to run as root).
    const server = (program: string, args: readonly string[]): Promise<string> =>
      asRoot ? run('runuser', ['-u', 'postgres', '--', join(bin, program), ...args], dataDir) : run(join(bin, program), args, dataDir);

    try {
      await server('initdb', ['-D', dataDir, '-U', PG_USER, '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync']);
    } catch (e) {
      const hint = asRoot
        ? ` (the server runs as the OS user postgres, which must be able to reach ${dataDir}; ` +
          `if ${tmpdir()} is not reachable by it, point TMPDIR at a directory that is, e.g. /tmp)`
        : '';
      throw new Error(`initdb failed${hint}: ${(e as Error).message}`);
    }

    // Settings go into postgresql.conf rather than pg_ctl -o, because pg_ctl hands -o to a shell.
    // A later line wins, so a retry on another port appends again.
    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      appendFileSync(join(dataDir, 'postgresql.conf'), serverSettings(port, dataDir) + preload(options) + (options.pgaudit ? pgauditSettings() : ''));
      try {
        live.running = true; // from here on, the exit handler tries to stop it
        await server('pg_ctl', ['-D', dataDir, '-l', join(dataDir, 'server.log'), '-w', '-t', '60', 'start']);
        break;
      } catch (e) {
        // A server that started but was not seen in time still has its postmaster.pid: leave it to stopLiveSync.
        live.running = existsSync(join(dataDir, 'postmaster.pid'));
        const log = serverLog(dataDir);
        if (!live.running && attempt < 3 && /could not bind|already in use/i.test(log)) continue; // lost a race for the port
        throw new Error(`pg_ctl start failed: ${(e as Error).message}\n--- server.log ---\n${log}`);
      }
    }

    // createdb is a client; it connects over TCP as the superuser role, so it runs as us.
    await run(join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', PG_USER, database], dataDir);
    for (const extension of [...(options.pgaudit ? ['pgaudit'] : []), ...(options.pgStatStatements ? ['pg_stat_statements'] : [])]) {
      const psql = join(bin, 'psql');
      const args = ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(port), '-U', PG_USER, '-d', database];
      await run(psql, [...args, '-c', `CREATE EXTENSION ${extension}`], dataDir);
    }

    let stopped: Promise<void> | undefined;
    return {
      url: `postgres://${PG_USER}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
      port,
      dataDir,
      csvLog: options.pgaudit ? join(dataDir, 'log', 'postgresql.csv') : undefined,
      stop: () => (stopped ??= stopLive(live, server)),
      pause: async () => {
        await server('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop']);
        // Not running: stop() and the exit handler then only remove the directory (pg_ctl stop would fail and keep it).
        live.running = false;
      },
      resume: async () => {
        live.running = true;
        await server('pg_ctl', ['-D', dataDir, '-l', join(dataDir, 'server.log'), '-w', '-t', '60', 'start']);
      },
    };
  } catch (e) {
    stopLiveSync(live);
    throw e;
  }
}

function serverSettings(port: number, dir: string): string {
  const quoted = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
  return [
    '',
    '# cordon test harness',
    `port = ${port}`,
    `listen_addresses = '127.0.0.1'`,
    `unix_socket_directories = ${quoted(dir)}`,
    'fsync = off',
    'synchronous_commit = off',
    'full_page_writes = off',
    '',
  ].join('\n');
}

/** shared_preload_libraries for the options. */
function preload(options: StartPostgresOptions): string {
  const libs = [...(options.pgaudit ? ['pgaudit'] : []), ...(options.pgStatStatements ? ['pg_stat_statements'] : [])];
  return libs.length === 0 ? '' : `shared_preload_libraries = '${libs.join(',')}'\n`;
}

/** pgaudit, and the csvlog it writes to (DATADIR/log/postgresql.csv; the collector names it by log_filename). */
function pgauditSettings(): string {
  if (!existsSync(join(pgBin(), '..', 'lib', 'pgaudit.so')))
    throw new Error(
      `pgaudit is not installed next to ${pgBin()}: install the Debian package postgresql-15-pgaudit ` +
        "(CI's .ci/run installs it when missing: DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql-15-pgaudit).",
    );
  return [
    "pgaudit.log = 'read, function'",
    'pgaudit.log_relation = on',
    'pgaudit.log_parameter = off',
    "log_destination = 'csvlog'",
    'logging_collector = on',
    "log_directory = 'log'",
    "log_filename = 'postgresql.log'",
    'log_rotation_age = 0',
    'log_rotation_size = 0',
    "log_file_mode = '0644'",
    '',
  ].join('\n');
}

// ---- stopping, and the safety net for tests that never call stop() ----

interface Live {
  readonly dataDir: string;
  readonly bin: string;
  readonly asRoot: boolean;
  running: boolean;
}

const liveServers = new Set<Live>();
let handlersInstalled = false;

async function stopLive(live: Live, server: (program: string, args: readonly string[]) => Promise<string>): Promise<void> {
  try {
    if (live.running) {
      try {
        await server('pg_ctl', ['-D', live.dataDir, '-m', 'fast', '-w', '-t', '60', 'stop']);
      } catch (e) {
        const log = serverLog(live.dataDir);
        stopLiveSync(live); // try harder (immediate) and remove the directory anyway
        throw new Error(`pg_ctl stop failed: ${(e as Error).message}\n--- server.log ---\n${log}`);
      }
      live.running = false;
    }
  } finally {
    if (!live.running) {
      rmSync(live.dataDir, { recursive: true, force: true });
      liveServers.delete(live);
    }
  }
}

/** Synchronous stop (fast, then immediate if that fails) and removal; used on exit and on start failure. */
function stopLiveSync(live: Live): void {
  if (live.running) {
    for (const mode of ['fast', 'immediate']) {
      const args = [join(live.bin, 'pg_ctl'), '-D', live.dataDir, '-m', mode, '-w', '-t', '30', 'stop'];
      const r = live.asRoot
        ? spawnSync('runuser', ['-u', 'postgres', '--', ...args], { cwd: live.dataDir, env: childEnv(), stdio: 'ignore', timeout: 40_000 })
        : spawnSync(args[0]!, args.slice(1), { cwd: live.dataDir, env: childEnv(), stdio: 'ignore', timeout: 40_000 });
      if (r.status === 0) {
        live.running = false;
        break;
      }
    }
  }
  if (!live.running) rmSync(live.dataDir, { recursive: true, force: true });
  liveServers.delete(live);
}

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    for (const live of [...liveServers]) stopLiveSync(live);
  });
  // A signal would otherwise end the process without 'exit'. Stop the servers, then let the
  // signal do what it would have done.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      for (const live of [...liveServers]) stopLiveSync(live);
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

// ---- child processes ----

/** Environment for every child: no PG* variables (PGHOST, PGDATA, PGOPTIONS… would change what they do), C locale. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG')) env[k] = v;
  env['LC_ALL'] = 'C';
  env['LANG'] = 'C';
  return env;
}

/** Runs a program (argument array, no shell); resolves with stdout, rejects with the command, status and output. */
function run(program: string, args: readonly string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(program, [...args], { cwd, env: childEnv(), encoding: 'utf8', timeout: CHILD_TIMEOUT_MS, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const status = err.killed ? `killed (${err.signal ?? 'timeout'})` : `exit ${String(err.code)}`;
        reject(new Error(`${[program, ...args].join(' ')}: ${status}\n${stderr}${stdout}`.trimEnd()));
      } else {
        resolve(stdout);
      }
    });
  });
}

/** The OS user `postgres` the server programs run as when the tests run as root. */
export function postgresOsUser(): { uid: number; gid: number } {
  const r = spawnSync('getent', ['passwd', 'postgres'], { encoding: 'utf8' });
  const fields = r.status === 0 ? r.stdout.trim().split(':') : [];
  const uid = Number(fields[2]);
  const gid = Number(fields[3]);
  if (fields.length < 4 || !Number.isInteger(uid) || !Number.isInteger(gid)) {
    throw new Error(
      'Tests run as root, so the PostgreSQL server must run as the OS user postgres, which does not exist. ' +
        "Installing the Debian package postgresql-15 creates it (CI's .ci/run must install it).",
    );
  }
  return { uid, gid };
}

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it; we close it again). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('could not read a free port'))));
    });
  });
}

function serverLog(dataDir: string): string {
  try {
    return readFileSync(join(dataDir, 'server.log'), 'utf8');
  } catch {
    return '(no server.log)';
  }
}
