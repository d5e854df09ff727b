// The one import of cedar-wasm. It also turns off V8's inlining of JS-to-Wasm calls: with it on,
// Node 20's V8 aborts ("Fatal error … unreachable code" in the deoptimizer) when a function that
// calls statefulIsAuthorized is deoptimized under load. The flag must be set before that code is
// optimized, which importing this module first guarantees.

import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--no-turbo-inline-js-wasm-calls');

export * from '@cedar-policy/cedar-wasm/nodejs';
