// A PostgreSQL server inside one host of test/helpers/netns.ts: it listens only on the addresses given,
// and pg_hba.conf lets in over TCP only the CIDRs given (scram-sha-256, one role with a password);
// over its unix socket (in its data directory) the harness is trusted, so psql() works from the test
// process even while the host is partitioned. The postmaster runs in the foreground as a tracked
// process of the hosts, so remove() ends it.
import type { ChildProcess } from 'node:child_process';
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, chownSync, closeSync, existsSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type NetHosts, childEnv, sleep } from './netns.js';
import { pgBin, postgresOsUser } from './postgres.js';

export interface HostPostgresOptions {
  /** listen_addresses, e.g. ['127.0.0.1', '10.90.1.2']. */
  readonly listen: readonly string[];
  /** CIDRs let in over TCP (scram-sha-256); nothing else is, not even 127.0.0.1 unless listed. */
  readonly allow: readonly string[];
  /** Databases to create, owned by the role; the first is the default of url() and psql(). */
  readonly databases: readonly string[];
  /** Default 5432 (each host has its own ports; two servers in one host need two ports). */
  readonly port?: number;
  /** The login role (default `cordon`) and its password (default: random). */
  readonly role?: string;
  readonly password?: string;
  /** Extra postgresql.conf lines. */
  readonly settings?: readonly string[];
}

export interface HostPostgres {
  readonly host: string;
  readonly port: number;
  readonly role: string;
  readonly password: string;
  readonly dataDir: string;
  /** The server's log (stderr of the postmaster). */
  readonly logFile: string;
  /**
   * postgres://ROLE:PASSWORD@ADDRESS:PORT/DB. `address` defaults to the first listen address that is
   * not loopback (else the first), `database` to the first database.
   */
  url(address?: string, database?: string): string;
  /** Runs SQL as the superuser over the unix socket (psql -X -A -t -q, ON_ERROR_STOP); resolves with stdout, rejects with psql's stderr. */
  psql(sql: string, database?: string): Promise<string>;
  /** Every row of every table of `database` as pg_dump --data-only text (COPY blocks), for scanning what a region stores. */
  dump(database?: string): Promise<string>;
  /** The postmaster's pid while it runs. */
  pid(): number | undefined;
  /** Fast shutdown, then the data directory is removed. Safe to call twice. */
  stop(): Promise<void>;
  /** Fast shutdown keeping the data (an outage); resume() starts it again on the same port. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** SIGKILL to the postmaster and its children (a crash); resume() then starts it with crash recovery. */
  kill(): Promise<void>;
}

const SUPERUSER = 'postgres';

/** Starts a fresh server in `host`, creates the role and databases; throws with the server log if it does not come up. */
export async function startPostgresIn(net: NetHosts, host: string, options: HostPostgresOptions): Promise<HostPostgres> {
  const bin = pgBin();
  const port = options.port ?? 5432;
  const role = options.role ?? 'cordon';
  const password = options.password ?? randomBytes(12).toString('hex');
  if (options.databases.length === 0) throw new Error('startPostgresIn: no databases');
  if (!/^[a-z_][a-z0-9_]*$/.test(role)) throw new Error(`startPostgresIn: role ${role} must be a plain lower-case identifier`);
  for (const db of options.databases)
    if (!/^[a-z_][a-z0-9_]*$/.test(db)) throw new Error(`startPostgresIn: database ${db} must be a plain lower-case identifier`);
  for (const cidr of options.allow) if (!/^[0-9.]+\/\d{1,2}$/.test(cidr)) throw new Error(`startPostgresIn: allow ${cidr} is not an IPv4 CIDR`);
  const user = postgresOsUser();

  const dataDir = net.tempDir(`pg-${host}-`);
  chownSync(dataDir, user.uid, user.gid);
  const logFile = join(dataDir, 'server.log');
  await runChecked(
    'runuser',
    ['-u', 'postgres', '--', join(bin, 'initdb'), '-D', dataDir, '-U', SUPERUSER, '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync'],
    dataDir,
  );
  // initdb's pg_hba.conf lets in 127.0.0.1/32 and ::1/128 (trust): replaced, so that only what `allow` says gets in over TCP.
  writeFileSync(
    join(dataDir, 'pg_hba.conf'),
    [
      '# cordon netns harness: the harness over the unix socket; over TCP only the allowed CIDRs, with a password',
      'local all all trust',
      ...options.allow.map((cidr) => `host all all ${cidr} scram-sha-256`),
      '',
    ].join('\n'),
  );
  const quoted = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
  appendFileSync(
    join(dataDir, 'postgresql.conf'),
    [
      '',
      '# cordon netns harness',
      `port = ${port}`,
      `listen_addresses = ${quoted(options.listen.join(','))}`,
      `unix_socket_directories = ${quoted(dataDir)}`,
      "password_encryption = 'scram-sha-256'",
      'fsync = off',
      'synchronous_commit = off',
      'full_page_writes = off',
      ...(options.settings ?? []),
      '',
    ].join('\n'),
  );

  let child: ChildProcess | undefined;
  let exited: string | undefined;
  let stopped = false;
  const start = async (): Promise<void> => {
    const log = openSync(logFile, 'a');
    exited = undefined;
    // setpriv execs postgres directly (runuser would fork and stay in between), so the child's pid is the postmaster's.
    const c = net.spawn(host, 'setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', join(bin, 'postgres'), '-D', dataDir], {
      stdio: ['ignore', log, log],
      cwd: dataDir,
    });
    closeSync(log);
    child = c;
    c.once('exit', (code, signal) => {
      exited = `exit ${String(code ?? signal)}`;
    });
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (spawnSync(join(bin, 'pg_isready'), ['-q', '-h', dataDir, '-p', String(port), '-U', SUPERUSER], { env: childEnv(), timeout: 10_000 }).status === 0)
        return;
      if (exited !== undefined || Date.now() > deadline) {
        throw new Error(`PostgreSQL in ${host} did not start (${exited ?? 'not ready within 60 s'})\n--- ${logFile} ---\n${tail(logFile)}`);
      }
      await sleep(50);
    }
  };
  const waitExit = async (what: string): Promise<void> => {
    const c = child;
    if (c === undefined) return;
    const deadline = Date.now() + 30_000;
    while (exited === undefined) {
      if (Date.now() > deadline) throw new Error(`PostgreSQL in ${host} did not ${what} within 30 s\n${tail(logFile)}`);
      await sleep(25);
    }
    child = undefined;
  };
  const shutdown = async (): Promise<void> => {
    if (child === undefined || exited !== undefined) return;
    child.kill('SIGINT'); // fast shutdown
    await waitExit('shut down');
  };
  const psql = (sql: string, database = options.databases[0]!): Promise<string> =>
    runChecked(
      join(bin, 'psql'),
      ['-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-h', dataDir, '-p', String(port), '-U', SUPERUSER, '-d', database, '-c', sql],
      dataDir,
    );

  // Ended with the hosts: its data directory is one of theirs, removed with them.
  net.onRemove(() => {
    if (child !== undefined && exited === undefined) child.kill('SIGKILL');
  });

  await start();
  const ident = (s: string): string => `"${s}"`;
  await psql(`CREATE ROLE ${ident(role)} LOGIN PASSWORD '${password.replace(/'/g, "''")}'`, 'postgres');
  for (const db of options.databases) await psql(`CREATE DATABASE ${ident(db)} OWNER ${ident(role)}`, 'postgres');

  const defaultAddress = options.listen.find((a) => !a.startsWith('127.')) ?? options.listen[0] ?? '127.0.0.1';
  return {
    host,
    port,
    role,
    password,
    dataDir,
    logFile,
    url: (address = defaultAddress, database = options.databases[0]!) =>
      `postgres://${encodeURIComponent(role)}:${encodeURIComponent(password)}@${address}:${port}/${encodeURIComponent(database)}`,
    psql,
    dump: (database = options.databases[0]!) =>
      runChecked(join(bin, 'pg_dump'), ['--data-only', '--no-owner', '-h', dataDir, '-p', String(port), '-U', SUPERUSER, '-d', database], dataDir),
    pid: () => (exited === undefined ? child?.pid : undefined),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await shutdown();
      rmSync(dataDir, { recursive: true, force: true });
    },
    pause: shutdown,
    resume: async () => {
      if (child !== undefined && exited === undefined) throw new Error(`PostgreSQL in ${host} is running`);
      await start();
    },
    kill: async () => {
      const c = child;
      if (c?.pid === undefined || exited !== undefined) return;
      const children = childrenOf(c.pid);
      for (const pid of [c.pid, ...children]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      await waitExit('die');
      // The backends are not our children: wait until they are gone, or a restart finds their shared memory.
      const deadline = Date.now() + 10_000;
      while (children.some(isAlive) && Date.now() < deadline) await sleep(25);
    },
  };
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // gone
    }
  }
  return out;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return existsSync(`/proc/${pid}`) && !/^\S+ \S+ Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/\(.*\)/, 'x'));
  } catch {
    return false;
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-30).join('\n');
  } catch {
    return '(no log)';
  }
}

function runChecked(program: string, args: readonly string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(program, [...args], { cwd, env: childEnv(), encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const status = err.killed ? `killed (${err.signal ?? 'timeout'})` : `exit ${String(err.code)}`;
        reject(new Error(`${[program, ...args].join(' ')}: ${status}\n${stderr}`.trimEnd()));
      } else {
        resolve(stdout);
      }
    });
  });
}
