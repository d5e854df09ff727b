// A closed-loop HTTP load generator for the benchmarks, run in its own process: CONCURRENCY loops,
// each sending the next request when the last answered, over keep-alive connections, for SECONDS.
// Prints one JSON line: requests, errors, req/s, p50 and p99 latency in ms.
//
//   node dist/bench/load.js URL SECONDS CONCURRENCY [HEADER=VALUE ...]

import { Agent, request } from 'node:http';

const [url, secondsArg, concurrencyArg, ...headerArgs] = process.argv.slice(2);
if (!url || !secondsArg || !concurrencyArg) {
  process.stderr.write('usage: load.js URL SECONDS CONCURRENCY [HEADER=VALUE ...]\n');
  process.exit(2);
}
const seconds = Number(secondsArg);
const concurrency = Number(concurrencyArg);
const headers: Record<string, string> = {};
for (const h of headerArgs) {
  const eq = h.indexOf('=');
  headers[h.slice(0, eq)] = h.slice(eq + 1);
}
const target = new URL(url);
const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
const latencies: number[] = [];
let errors = 0;
const statuses: Record<string, number> = {};
const end = performance.now() + seconds * 1000;

function once(): Promise<void> {
  return new Promise((done) => {
    const t0 = performance.now();
    const req = request({ hostname: target.hostname, port: target.port, path: target.pathname + target.search, agent, headers }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode === 200) latencies.push(performance.now() - t0);
        else {
          errors++;
          statuses[String(res.statusCode)] = (statuses[String(res.statusCode)] ?? 0) + 1;
        }
        done();
      });
    });
    req.on('error', () => {
      errors++;
      statuses['network'] = (statuses['network'] ?? 0) + 1;
      done();
    });
    req.end();
  });
}

async function loop(): Promise<void> {
  while (performance.now() < end) await once();
}

const started = performance.now();
await Promise.all(Array.from({ length: concurrency }, loop));
const elapsed = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? NaN;
process.stdout.write(`${JSON.stringify({ requests: latencies.length, errors, statuses, rps: latencies.length / elapsed, p50: pct(0.5), p99: pct(0.99) })}\n`);
agent.destroy();
