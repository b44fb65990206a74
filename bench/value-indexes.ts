// What the shape of the value indexes costs SQLite, without the app: `profile_values` as the
// migrations make it (WITHOUT ROWID, its primary key by profile), with either
//   two    the two indexes the schema has: (workspace, property, v_text, profile) and
//          (workspace, property, v_num, profile), each holding every row, though a row has a
//          text or a number, never both;
//   one    one index (workspace, property, v_num, v_text, profile): each row once, a property's
//          rows still together (a text property's rows all have v_num null);
// then `PROFILES` profiles of 10 values (7 texts, 3 numbers) loaded in one transaction, 20,000
// PATCH-like writes (two values of a random profile deleted and inserted, 25 to a synced commit,
// as group commit shares them), and 5,000 equality reads of a text value. Prints the CPU time of
// each part and the file's pages.
//
//   npx node bench/value-indexes.ts two 200000 && npx node bench/value-indexes.ts one 200000
import { rmSync } from 'node:fs';
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const shape = process.argv[2];
const PROFILES = Number(process.argv[3] ?? 200_000);
const WRITES = 20_000;
const PER_COMMIT = 25;
const READS = 5_000;
if (shape !== 'two' && shape !== 'one') throw new Error('usage: npx node bench/value-indexes.ts two|one [profiles]');

const path = join(tmpdir(), `propdict-value-indexes-${shape}.db`);
const removeFiles = () => {
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
};
removeFiles();
const db = new DatabaseSync(path);
db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA cache_size = -16384;
  create table profile_values (workspace_id integer not null, profile_id text not null, property_id integer not null,
    position integer not null, v_text text, v_num double precision, v_json text not null, source text, written_at text not null,
    primary key (workspace_id, profile_id, property_id, position)) without rowid;`);
db.exec(
  shape === 'two'
    ? 'create index t on profile_values (workspace_id, property_id, v_text, profile_id); create index n on profile_values (workspace_id, property_id, v_num, profile_id);'
    : 'create index tn on profile_values (workspace_id, property_id, v_num, v_text, profile_id);',
);

const insert = db.prepare('insert into profile_values values (?, ?, ?, ?, ?, ?, ?, ?, ?)');
const remove = db.prepare('delete from profile_values where workspace_id = 1 and profile_id = ? and property_id = ?');
const now = new Date().toISOString();
/** Property k of profile p in its `version`-th write: properties 7-9 numbers, the rest texts of 50,000 distinct values. */
function row(p: number, k: number, version: number): SQLInputValue[] {
  const value = k >= 7 ? p * 7 + k + version : `val-${(p * 31 + k * 7 + version) % 50_000}`;
  return [1, `p-${p}`, k, 0, typeof value === 'string' ? value : null, typeof value === 'number' ? value : null, JSON.stringify(value), 'bench', now];
}
function cpuMs(run: () => void): number {
  const before = process.cpuUsage();
  run();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

const load = cpuMs(() => {
  db.exec('begin');
  for (let p = 0; p < PROFILES; p++) for (let k = 0; k < 10; k++) insert.run(...row(p, k, 0));
  db.exec('commit');
});
db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
const writes = cpuMs(() => {
  for (let i = 0; i < WRITES; i++) {
    if (i % PER_COMMIT === 0) db.exec('begin immediate');
    const p = Math.floor(Math.random() * PROFILES);
    for (const k of [3, 8]) {
      remove.run(`p-${p}`, k);
      insert.run(...row(p, k, i + 1));
    }
    if (i % PER_COMMIT === PER_COMMIT - 1) db.exec('commit');
  }
});
// A text property's rows have no number: the one index finds a text by (v_num is null, v_text).
const read = db.prepare(`select profile_id from profile_values where workspace_id = 1 and property_id = 2 and ${shape === 'one' ? 'v_num is null and ' : ''}v_text = ?`);
const reads = cpuMs(() => {
  for (let i = 0; i < READS; i++) read.all(`val-${(i * 97) % 50_000}`);
});
const { page_count: pages } = db.prepare('pragma page_count').get() as { page_count: number };
db.close();
removeFiles();
console.log(`${shape}: load of ${PROFILES.toLocaleString('en')} profiles × 10 values ${Math.round(load)} ms CPU; ${WRITES.toLocaleString('en')} writes ${Math.round(writes)} ms CPU; ${READS.toLocaleString('en')} reads ${Math.round(reads)} ms CPU; ${pages.toLocaleString('en')} pages`);
