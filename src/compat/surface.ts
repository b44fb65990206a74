// What a vendor surface receives: the services it presents, the shared rate limiter and the
// configuration of its limits. A surface holds schemas, pure mappers and its error envelope;
// every rule it needs lives in the services.
import type { Config } from '../config.ts';
import type { Services } from '../app.ts';
import type { RateLimiter } from '../modules/rate-limits/rate-limiter.ts';

export interface SurfaceDeps extends Services {
  limiter: RateLimiter;
  config: Pick<Config, 'ocamba' | 'hcl' | 'lineworks'>;
}
