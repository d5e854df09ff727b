// Who a gateway request comes from, as the server's identify step (token and network map) found it.
import type { Principal } from '../policy/index.js';

/** Who asks and from where; `audience` keys their tokens. */
export interface Caller {
  readonly principal: Principal;
  readonly country: string;
  readonly site: string;
  readonly audience: string;
  /** False when the network does not place the request, or the token's place disagrees. */
  readonly knownPlace: boolean;
}
