#!/usr/bin/env node
// The cordon command; the code lives in dist/ (built by `npm ci` through the prepare script).
// CORDON_DIST (an absolute build directory) runs another build of the same source, for tests of a
// build made with another outDir.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const dist = process.env.CORDON_DIST;
const { main } = dist ? await import(pathToFileURL(join(dist, 'src/cli/main.js')).href) : await import('../dist/src/cli/main.js');

process.exitCode = await main(process.argv.slice(2));
