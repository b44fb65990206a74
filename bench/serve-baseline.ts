// Benchmark child: the baseline, a bare Fastify app with one route returning a small JSON object.
// Same process model as bench/serve-app.ts, so the ratio measures only what propdict adds.
import Fastify from 'fastify';
import type { AddressInfo } from 'node:net';
import { reportToParent } from './child.ts';

const app = Fastify({ logger: false });
app.get('/', async () => ({ hello: 'world' }));
await app.listen({ port: 0, host: '127.0.0.1' });
reportToParent((app.server.address() as AddressInfo).port, () => app.close());
