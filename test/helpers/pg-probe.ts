// `node pg-probe.js URL`: tries to open a PostgreSQL session at URL and prints `connected`, or
// `refused SQLSTATE` (the server said no: 28000 is no pg_hba.conf entry for this host), or the
// network's error code (ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH). Run on a host by the regions tests.
import postgres from 'postgres';

const sql = postgres(process.argv[2]!, { max: 1, connect_timeout: 5, onnotice: () => {} });
try {
  await sql`SELECT 1`;
  process.stdout.write('connected\n');
} catch (err) {
  const e = err as { code?: string; errno?: string };
  process.stdout.write(/^[0-9A-Z]{5}$/.test(e.code ?? '') ? `refused ${e.code}\n` : `${e.code ?? e.errno ?? 'error'}\n`);
} finally {
  await sql.end({ timeout: 1 }).catch(() => undefined);
}
