// `node jwks-server.js PORT FILE`: an OpenID provider's key set on 127.0.0.1:PORT of the host it runs
// on (GET /jwks: FILE's JSON; anything else: the configuration document naming it). The regions
// tests run one on each gateway host, where cordon takes a plain-http issuer only on loopback.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const port = Number(process.argv[2]);
const keys = readFileSync(process.argv[3]!, 'utf8');
const issuer = `http://127.0.0.1:${port}`;
createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(req.url === '/jwks' ? keys : JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
}).listen(port, '127.0.0.1');
