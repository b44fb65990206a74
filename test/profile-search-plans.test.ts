// A search filter is looked up when it matches few values and checked per profile when it
// matches many. Both ways must give the same answers: every query here runs both ways, and both
// are held to the answer worked out here, in plain code, from the profiles written.
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
  'filter[town][eq]=Beograd&sort=-score&limit=4',
  'filter[score][lt]=30&sort=nick&limit=4',
  'filter[score][ne]=7&sort=-nick&limit=5',
  'filter[town][in]=Niš,Subotica&sort=town&limit=6',
  'filter[tags][gte]=t5&sort=tags&limit=4',
  'filter[tags][eq]=t2&sort=-tags&limit=3',
  'filter[nick][prefix]=n1&filter[score][lte]=40&sort=score',
  // Several sort keys: ties on a key broken by the next, then by id in the last key's direction;
  // at each key, profiles without a value after those with one. Small limits cross every kind of
  // page boundary: inside a tie, between the holders of a key and the profiles without it.
  'sort=town,score&limit=5',
  'sort=town,-score&limit=4',
  'sort=-town,nick&limit=3',
  'sort=grade,rank&limit=2',
  'sort=grade,rank&limit=1',
  'sort=-grade,-rank,nick&limit=3',
  'sort=rank,grade,town&limit=7',
  'sort=rank,grade,town&limit=1',
  'sort=-rank,grade&limit=4',
  'sort=nick,grade&limit=6',
  'sort=grade,town&limit=2',
  'sort=tags,-grade&limit=5',
  'sort=-grade,tags,rank&limit=2',
  'filter[town][eq]=Beograd&sort=grade,-score&limit=2',
  'filter[score][gte]=10&sort=grade,nick&limit=3',
  'filter[grade][exists]=false&sort=rank,-score&limit=2',
  'filter[rank][gte]=2&sort=rank,town&limit=3',
  'filter[rank][ne]=1&sort=-rank,-grade,score&limit=4',
  'filter[tags][eq]=t2&sort=tags,grade&limit=2',
  'filter[nick][exists]=true&sort=grade,-rank,town&limit=3',
  // A filter on the first key: only its holders, or only the profiles without it, can match.
  'filter[rank][exists]=false&sort=rank,grade&limit=2',
  'filter[rank][exists]=false&sort=-rank,-grade,nick&limit=3',
  'filter[grade][in]=a,b&sort=grade,-rank&limit=3',
  'filter[grade][exists]=true&sort=-grade,nick&limit=4',
  'filter[grade][ne]=a&sort=grade,rank&limit=3',
  // An identity lookup (an equality on a unique value, no sort): its page and values in one statement.
  'filter[code][eq]=c17',
  'filter[serial][eq]=34',
  'filter[serial][eq]=34&limit=1',
  'filter[code][eq]=c17&sort=score',
];

const CITIES = ['Beograd', 'Novi Sad', 'Niš', 'Subotica'];
const GRADES = ['b', 'a', 'c'];
const INPUTS: { id: string; properties: Record<string, string | number | string[]> }[] = Array.from({ length: 60 }, (_, i) => ({
  id: `p${String(i).padStart(2, '0')}`,
  properties: {
    town: CITIES[i % 4],
    score: i,
    ...(i % 3 ? { nick: `n${i}` } : {}),
    // Unsorted items, so a filter on any item and a sort on the first differ.
    ...(i % 5 ? { tags: [`t${i % 7}`, `t${(i * 3) % 10}`] } : {}),
    // Few values, so many ties, and some profiles without one.
    ...(i % 4 !== 1 ? { grade: GRADES[i % 3] } : {}),
    ...(i % 6 ? { rank: i % 4 } : {}),
    code: `c${i}`,
    ...(i % 2 ? {} : { serial: i }),
  },
}));

type Item = string | number;
const itemsOf = (p: (typeof INPUTS)[number], name: string): Item[] => [p.properties[name] ?? []].flat();

/**
 * Every id a query should return, in order: each filter holds for some item; sorted by each
 * key's first item (a profile without one after those with one), then by id in the last key's
 * direction.
 */
function expected(query: string): string[] {
  const params = new URLSearchParams(query);
  const filters: { property: string; holds: (items: Item[]) => boolean }[] = [];
  for (const [key, raw] of params) {
    const [, property, op] = /^filter\[(\w+)\]\[(\w+)\]$/.exec(key) ?? [];
    if (!property) continue;
    const typed = (text: string): Item => (['score', 'rank', 'serial'].includes(property) ? Number(text) : text);
    const v = typed(raw);
    const some = (ok: (x: Item) => boolean) => (items: Item[]) => items.some(ok);
    const byOp: Record<string, (items: Item[]) => boolean> = {
      eq: some((x) => x === v),
      ne: (items) => !items.includes(v),
      gt: some((x) => x > v),
      gte: some((x) => x >= v),
      lt: some((x) => x < v),
      lte: some((x) => x <= v),
      in: some((x) => raw.split(',').map(typed).includes(x)),
      prefix: some((x) => String(x).startsWith(raw)),
      contains: some((x) => String(x).toLowerCase().includes(raw.toLowerCase())),
      exists: (items) => (items.length > 0) === (raw === 'true'),
    };
    filters.push({ property, holds: byOp[op] });
  }
  const matching = INPUTS.filter((p) => filters.every((f) => f.holds(itemsOf(p, f.property))));
  const keys = (params.get('sort') ?? '').split(',').filter(Boolean).map((k) => ({ name: k.replace(/^-/, ''), sign: k.startsWith('-') ? -1 : 1 }));
  const cmp = (a: Item, b: Item) => (a < b ? -1 : a > b ? 1 : 0);
  const idSign = keys.at(-1)?.sign ?? 1;
  return matching
    .sort((a, b) => {
      for (const { name, sign } of keys) {
        const [x, y] = [itemsOf(a, name)[0], itemsOf(b, name)[0]];
        if (x === undefined && y === undefined) continue;
        if (x === undefined || y === undefined) return x === undefined ? 1 : -1;
        if (cmp(x, y) !== 0) return sign * cmp(x, y);
      }
      return idSign * cmp(a.id, b.id);
    })
    .map((p) => p.id);
}

for (const dialect of dialects) {
  describe(`search plans agree [${dialect.name}]`, () => {
    const apps: TestApp[] = [];
    const bases: { app: TestApp; ws: string; token: string }[] = [];

    before(async () => {
      // broadFilter 1: every filter is checked per profile, and a sort of several keys walks every
      // tie on its first key along the next key's index; the default: every filter is looked up,
      // and ties are sorted.
      for (const broadFilter of [1, undefined]) {
        const t = await createTestApp(dialect, { broadFilter });
        apps.push(t);
        const a = await createTenancy(t, 'Plans');
        const ws = `/v1/workspaces/${a.workspaceId}`;
        for (const p of [
          { name: 'town', data_type: 'string' },
          { name: 'score', data_type: 'integer' },
          { name: 'nick', data_type: 'string' },
          { name: 'tags', data_type: 'string', multi_valued: true },
          { name: 'grade', data_type: 'string' },
          { name: 'rank', data_type: 'integer' },
          { name: 'code', data_type: 'string', unique: true },
          { name: 'serial', data_type: 'integer', unique: true },
        ]) {
          expectStatus(await t.request({ method: 'POST', url: `${ws}/properties`, token: a.token, payload: p }), 201);
        }
        expectStatus(await t.request({ method: 'POST', url: `${ws}/profiles/batch`, token: a.token, payload: { inputs: INPUTS } }), 200);
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
        // A cursor that goes round in circles fails here rather than never ending.
        assert.ok(ids.length <= INPUTS.length, `more results than profiles: ${ids.join(' ')}`);
      } while (cursor);
      return ids;
    }

    for (const query of QUERIES) {
      test(query, async () => {
        const [perProfile, lookedUp] = await Promise.all(bases.map((b) => walk(b, query)));
        assert.deepEqual(perProfile, expected(query), 'checked per profile');
        assert.deepEqual(lookedUp, expected(query), 'looked up');
        assert.ok(lookedUp.length > 0, 'the query matches something');
      });
    }
  });
}
