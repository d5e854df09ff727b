#!/usr/bin/env node
// The cordon command; the code lives in dist/ (built by `npm ci` through the prepare script).
// CORDON_DIST (an absolute build directory) runs another build of the same source, for tests of a
// build made with another outDir.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const dist = process.env.CORDON_DIST;
const load = (file) => (dist ? import(pathToFileURL(join(dist, file)).href) : import(`../dist/${file}`));
// The server runs for long: V8 is told to favour a small footprint before anything is compiled
// (src/cli/footprint.ts says what it saves).
if (process.argv[2] === 'up') (await load('src/cli/footprint.js')).preferSmallFootprint();
const { main } = await load('src/cli/main.js');

process.exitCode = await main(process.argv.slice(2));
