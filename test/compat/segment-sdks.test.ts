// The official Segment and RudderStack Node SDKs, unchanged but for where they send (host and
// path, dataPlaneUrl) and their write key, against the real server on a random port.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Analytics } from '@segment/analytics-node';
import RudderAnalytics from '@rudderstack/rudder-sdk-node';
import { createTenancy, createTestApp, expectStatus, type Tenancy, type TestApp } from '../helpers/app.ts';
import { dialects } from '../helpers/dialects.ts';

/** What a test says to an SDK; `done` sends everything queued and resolves with the delivery errors. */
interface Sdk {
  identify(message: { userId?: string; anonymousId?: string; traits?: Record<string, unknown>; timestamp?: Date; messageId?: string }): void;
  track(message: { userId?: string; anonymousId?: string; event: string; context?: Record<string, unknown> }): void;
  alias(message: { userId: string; previousId: string }): void;
  done(): Promise<unknown[]>;
}

type SdkFactory = (base: string, writeKey: string) => Sdk;

const SDKS: Record<string, SdkFactory> = {
  '@segment/analytics-node': (base, writeKey) => {
    // As Segment documents for a self-hosted destination: host, and path from the host's root.
    const client = new Analytics({ writeKey, host: base, path: '/segment/v1/batch', maxRetries: 0 });
    const errors: unknown[] = [];
    const onDone = (error: unknown) => void (error && errors.push(error));
    return {
      identify: (m) => client.identify(m as never, onDone),
      track: (m) => client.track(m as never, onDone),
      alias: (m) => client.alias(m, onDone),
      async done() {
        await client.closeAndFlush();
        return errors;
      },
    };
  },
  '@rudderstack/rudder-sdk-node': (base, writeKey) => {
    // dataPlaneUrl is the base; the SDK posts its gzipped batches to <dataPlaneUrl>/v1/batch.
    const errors: unknown[] = [];
    const client = new RudderAnalytics(writeKey, { dataPlaneUrl: `${base}/segment`, flushAt: 100, flushInterval: 60_000, logLevel: 'error', errorHandler: (error: unknown) => void errors.push(error) } as never);
    return {
      identify: (m) => void client.identify(m as never),
      track: (m) => void client.track(m as never),
      alias: (m) => void client.alias(m as never),
      async done() {
        await client.flush();
        return errors;
      },
    };
  },
};

for (const dialect of dialects) {
  describe(`real SDKs against the server [${dialect.name}]`, () => {
    let t: TestApp;
    let base: string;

    before(async () => {
      t = await createTestApp(dialect);
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    });
    after(() => t.close());

    for (const [name, makeSdk] of Object.entries(SDKS)) {
      describe(name, () => {
        let a: Tenancy;
        let ws: string;
        let sourceId: number;
        let writeKey: string;
        const native = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown) =>
          t.request({ method, url: `${ws}${url}`, token: a.token, ...(payload === undefined ? {} : { payload: payload as object }) });
        const byUser = async (userId: string) => {
          const res = await native('GET', `/profiles?filter[user_id][eq]=${encodeURIComponent(userId)}`);
          expectStatus(res, 200);
          return res.body.data as { id: string; properties: Record<string, unknown> }[];
        };
        /** Sends through a new client and checks every call was delivered. */
        const send = async (calls: (sdk: Sdk) => void) => {
          const sdk = makeSdk(base, writeKey);
          calls(sdk);
          assert.deepEqual(await sdk.done(), []);
        };

        before(async () => {
          a = await createTenancy(t, name);
          ws = `/v1/workspaces/${a.workspaceId}`;
          for (const p of [
            { name: 'user_id', data_type: 'string', identity: { role: 'primary', priority: 1 } },
            { name: 'anon_id', data_type: 'string', identity: { role: 'primary', priority: 2 } },
            { name: 'plan', data_type: 'string', import_aliases: ['planName'] },
            { name: 'age', data_type: 'integer' },
            { name: 'visits', data_type: 'integer', merge_function: 'sum' },
          ]) {
            expectStatus(await native('POST', '/properties', p), 201);
          }
          const source = await native('POST', '/sources', { name: 'app', user_id_property: 'user_id', anonymous_id_property: 'anon_id' });
          expectStatus(source, 201);
          sourceId = source.body.id;
          const key = await native('POST', `/sources/${sourceId}/write-keys`);
          expectStatus(key, 201);
          writeKey = key.body.key;
        });

        test('identify with traits through names and aliases; a refused trait shows up in violations', async () => {
          await send((sdk) => sdk.identify({ userId: 'u-1', traits: { firstName: 'Ana', planName: 'pro', email: 'ana@example.com', favoriteColor: 'green' } }));
          const [profile] = await byUser('u-1');
          assert.deepEqual(profile?.properties, { email: 'ana@example.com', first_name: 'Ana', plan: 'pro', user_id: 'u-1' });
          const v = await native('GET', '/violations?trait=favoriteColor');
          expectStatus(v, 200);
          assert.deepEqual(
            v.body.data.map((x: Record<string, unknown>) => [x.source_id, x.problem, x.count]),
            [[sourceId, 'unknown', 1]],
          );
        });

        test('anonymous, then identified: the two profiles merge', async () => {
          await send((sdk) => sdk.identify({ anonymousId: 'anon-2', traits: { age: 33, visits: 1 } }));
          await send((sdk) => {
            sdk.identify({ userId: 'u-2', traits: { visits: 2 } });
            sdk.track({ userId: 'u-2', anonymousId: 'anon-2', event: 'Logged In' });
          });
          assert.deepEqual((await byUser('u-2')).map((p) => p.properties), [{ age: 33, anon_id: 'anon-2', user_id: 'u-2', visits: 3 }]);
          const anon = await native('GET', '/profiles?filter[anon_id][eq]=anon-2');
          assert.equal(anon.body.data.length, 1);
        });

        test('alias links a previous id to the user', async () => {
          await send((sdk) => sdk.identify({ anonymousId: 'anon-3', traits: { planName: 'free' } }));
          await send((sdk) => sdk.identify({ userId: 'u-3', traits: { age: 50 } }));
          await send((sdk) => sdk.alias({ previousId: 'anon-3', userId: 'u-3' }));
          assert.deepEqual((await byUser('u-3')).map((p) => p.properties), [{ age: 50, anon_id: 'anon-3', plan: 'free', user_id: 'u-3' }]);
        });

        test('out-of-order timestamps: the older call does not replace the newer value', async () => {
          const now = Date.now();
          await send((sdk) => {
            sdk.identify({ userId: 'u-4', traits: { age: 41 }, timestamp: new Date(now - 60_000) });
            sdk.identify({ userId: 'u-4', traits: { age: 40 }, timestamp: new Date(now - 120_000) });
          });
          assert.equal((await byUser('u-4'))[0].properties.age, 41);
        });

        test('a messageId sent twice is written once', async () => {
          await send((sdk) => sdk.identify({ userId: 'u-5', traits: { visits: 1 }, messageId: 'm-5' }));
          await send((sdk) => sdk.identify({ userId: 'u-5', traits: { visits: 1 }, messageId: 'm-5' }));
          assert.equal((await byUser('u-5'))[0].properties.visits, 1);
        });

        test('a revoked write key: the SDK is refused (401) and nothing is written', async () => {
          const key = await native('POST', `/sources/${sourceId}/write-keys`);
          expectStatus(key, 201);
          expectStatus(await native('DELETE', `/sources/${sourceId}/write-keys/${key.body.id}`), 204);
          const sdk = makeSdk(base, key.body.key);
          sdk.identify({ userId: 'u-6', traits: { age: 6 } });
          const errors = await sdk.done();
          assert.equal(errors.length, 1);
          assert.match(String((errors[0] as Error).message ?? errors[0]), /401|Unauthorized/);
          assert.equal((await byUser('u-6')).length, 0);
        });
      });
    }
  });
}
