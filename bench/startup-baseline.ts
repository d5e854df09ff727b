// The baseline of `bench -- startup`, run as its own process: node, Fastify and one PGlite store
// opened the way cordon opens one (from the build's template, same settings), serving one record at
// the path and with the headers of the quick start's read, with no policy, keys, log or demo world.
// What any such service costs on this machine at this moment. Prints `serving on URL` when it listens.
//
//   node dist/bench/startup-baseline.js DATA_DIR

import Fastify from 'fastify';
import { join } from 'node:path';
import { openPgliteStore } from '../src/store/index.js';

const dataDir = process.argv[2];
if (!dataDir) {
  process.stderr.write('usage: startup-baseline.js DATA_DIR\n');
  process.exit(2);
}
const store = await openPgliteStore('global', join(dataDir, 'stores', 'global'));
await store.ensureTable({ name: 'users', fields: ['uid', 'username', 'phone_number'] });
await store.upsert('users', 'demo-us-1', { uid: 'demo-us-1', username: 'lonestar_lens', phone_number: '+15125550101' });
const app = Fastify();
app.get<{ Params: { key: string } }>('/v1/data/users/:key', async (req, reply) => {
  if (!req.headers.authorization?.startsWith('Bearer ')) return reply.status(401).send();
  const fields = await store.get('users', req.params.key);
  return fields ? { fields } : reply.status(404).send();
});
await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`baseline serving on http://127.0.0.1:${(app.server.address() as { port: number }).port}\n`);
const stop = () =>
  void app
    .close()
    .then(() => store.close())
    .then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
