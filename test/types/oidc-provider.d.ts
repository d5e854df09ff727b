// The little of oidc-provider that test/oidc-e2e.slow.test.ts uses: it ships no types, and its
// @types package would be one more dependency for two members.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';
  export class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
  }
}
