// A search filter is looked up when it matches few values and checked per profile when it
// matches many. Both ways must give the same answers: every query here runs both ways.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTenancy, createTestApp, expectStatus, type TestApp } from './helpers/app.ts';
import { dialects } from './helpers/dialects.ts';

const QUERIES = [
  'filter[town][eq]=Niš',
  'filter[score][gte]=40',
  'filter[score][lt]=10&filter[town][in]=Beograd,Niš',
  'filter[town][prefix]=Novi',
  'filter[town][contains]=sad',
  'filter[score][ne]=50',
  'filter[nick][exists]=true',
  'filter[nick][exists]=false',
  'filter[score][gte]=20&sort=-score&limit=7',
  'filter[town][eq]=Beograd&limit=3',
];

for (const dialect of dialects) {
  describe(`search plans agree [${dialect.name}]`, () => {
    const apps: TestApp[] = [];
    const bases: { app: TestApp; ws: string; token: string }[] = [];

    before(async () => {
      // broadFilter 1: every filter is checked per profile; the default: every filter is looked up.
      for (const broadFilter of [1, undefined]) {
        const t = await createTestApp(dialect, { broadFilter });
        apps.push(t);
        const a = await createTenancy(t, 'Plans');
        const ws = `/v1/workspaces/${a.workspaceId}`;
        for (const p of [
          { name: 'town', data_type: 'string' },
          { name: 'score', data_type: 'integer' },
          { name: 'nick', data_type: 'string' },
        ]) {
          expectStatus(await t.request({ method: 'POST', url: `${ws}/properties`, token: a.token, payload: p }), 201);
        }
        const cities = ['Beograd', 'Novi Sad', 'Niš', 'Subotica'];
        const inputs = Array.from({ length: 60 }, (_, i) => ({
          id: `p${String(i).padStart(2, '0')}`,
          properties: { town: cities[i % 4], score: i, ...(i % 3 ? { nick: `n${i}` } : {}) },
        }));
        expectStatus(await t.request({ method: 'POST', url: `${ws}/profiles/batch`, token: a.token, payload: { inputs } }), 200);
        bases.push({ app: t, ws, token: a.token });
      }
    });
    after(async () => {
      for (const t of apps) await t.close();
    });

    /** Every page of a query, as ids. */
    async function walk(b: (typeof bases)[number], query: string): Promise<string[]> {
      const ids: string[] = [];
      let cursor: string | null = null;
      do {
        const res = await b.app.request({ method: 'GET', url: `${b.ws}/profiles?${query}${cursor ? `&cursor=${cursor}` : ''}`, token: b.token });
        expectStatus(res, 200);
        ids.push(...res.body.data.map((p: { id: string }) => p.id));
        cursor = res.body.next_cursor;
      } while (cursor);
      return ids;
    }

    for (const query of QUERIES) {
      test(query, async () => {
        const [perProfile, lookedUp] = await Promise.all(bases.map((b) => walk(b, query)));
        assert.deepEqual(perProfile, lookedUp);
        assert.ok(lookedUp.length > 0, 'the query matches something');
      });
    }
  });
}
