// `propdict import` and `propdict export` as real processes against a real server: progress bars
// (printed as lines, stderr not being a terminal here), the summary, the error report on disk,
// and one-line failures with a non-zero exit.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { call, runCli, startServer, tenancy, type ServerProcess } from './helpers/process.ts';

const ROWS = 3000;

describe('the import and export commands [sqlite, real processes]', () => {
  const dir = mkdtempSync(join(tmpdir(), 'propdict-cli-'));
  let server: ServerProcess;
  let env: Record<string, string>;
  let workspace: string;

  before(async () => {
    server = await startServer({ DATABASE_URL: `sqlite:${join(dir, 'cli.db')}` });
    const t = await tenancy(server.url);
    workspace = String(t.workspaceId);
    env = { PROPDICT_URL: server.url, PROPDICT_TOKEN: t.token };
    for (const p of [
      { name: 'member_no', data_type: 'string', identity: { role: 'primary' }, import_aliases: ['Member Number'], export_alias: 'Member Number' },
      { name: 'points', data_type: 'integer' },
    ]) {
      const res = await call(server.url, 'POST', `/v1/workspaces/${workspace}/properties`, { token: t.token, body: p });
      assert.equal(res.status, 201, res.raw);
    }
  });
  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('import: an upload bar, a rows bar, the counts, and the rejected rows saved beside the file', async () => {
    const file = join(dir, 'members.csv');
    const rows = Array.from({ length: ROWS }, (_, i) => `M${i},${i % 1000 === 999 ? 'many' : i}`);
    writeFileSync(file, `Member Number,points\n${rows.join('\n')}\n`);
    const { code, output } = await runCli(['import', file, '--workspace', workspace], env);
    assert.equal(code, 0, output);
    const size = readFileSync(file).length;
    assert.match(output, new RegExp(`Uploading \\|[█░]+\\| 100% ${size}/${size} bytes`), output);
    assert.match(output, new RegExp(`Rows +\\|[█░]+\\| 100% ${ROWS}/${ROWS} rows`), output);
    assert.match(output, /Import imp_\w+ done: 2997 created, 0 updated, 0 merged, 0 unchanged, 3 rejected\./, output);
    assert.match(output, new RegExp(`Rejected rows: ${file.replaceAll('.', '\\.')}\\.errors\\.csv`), output);
    const report = readFileSync(`${file}.errors.csv`, 'utf8');
    assert.equal(report, 'row,column,property,problem,value\n1000,points,points,"must be a number (got ""many"")",many\n2000,points,points,"must be a number (got ""many"")",many\n3000,points,points,"must be a number (got ""many"")",many\n');
  });

  test('a dry run says so and writes nothing', async () => {
    const file = join(dir, 'dry.csv');
    writeFileSync(file, 'member_no,points\nDRY-1,1\n');
    const { code, output } = await runCli(['import', file, '--workspace', workspace, '--dry-run'], env);
    assert.equal(code, 0, output);
    assert.match(output, /done \(dry run: nothing written\): 1 created/, output);
    const found = await call(server.url, 'GET', `/v1/workspaces/${workspace}/profiles?filter[member_no][eq]=DRY-1`, { token: env.PROPDICT_TOKEN });
    assert.deepEqual(found.body.data, []);
  });

  test('export: the rows bar on stderr, the file written, filters applied', async () => {
    const out = join(dir, 'export.csv');
    const { code, output } = await runCli(['export', '--workspace', workspace, '--filter', 'points[lt]=10', '--properties', 'member_no,points', '-o', out], env);
    assert.equal(code, 0, output);
    assert.match(output, /Rows \|[█░]+\| 100% 10\/10 rows/, output);
    assert.match(output, new RegExp(`Exported 10 profiles to ${out.replaceAll('.', '\\.')}`), output);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    assert.equal(lines[0], 'id,Member Number,points');
    assert.equal(lines.length, 11);
    assert.deepEqual(lines.slice(1).map((l) => l.split(',').slice(1).join(',')).sort(), Array.from({ length: 10 }, (_, i) => `M${i},${i}`).sort());
  });

  test('export to stdout as NDJSON: the data alone on stdout', async () => {
    const { code, output } = await runCli(['export', '--workspace', workspace, '--format', 'ndjson', '--filter', 'points[eq]=5', '--properties', 'points'], env);
    assert.equal(code, 0, output);
    assert.match(output, /\{"id":"[^"]+","points":5\}\n/, output);
    assert.match(output, /Exported 1 profiles\./, output);
  });

  /** A failure: its arguments, the environment, and the one line it ends with. */
  const FAILURES: { title: string; args: () => string[]; env?: () => Record<string, string>; line: RegExp }[] = [
    { title: 'a wrong token', args: () => ['export', '--workspace', workspace], env: () => ({ ...env, PROPDICT_TOKEN: 'pd_wrong' }), line: /^propdict: the export failed \(401\): / },
    { title: 'no server named', args: () => ['export', '--workspace', workspace], env: () => ({ PROPDICT_TOKEN: 'x' }), line: /^--url or PROPDICT_URL is required/ },
    { title: 'a server that does not answer', args: () => ['export', '--workspace', workspace], env: () => ({ ...env, PROPDICT_URL: 'http://127.0.0.1:9' }), line: /^propdict: cannot reach http:\/\/127\.0\.0\.1:9/ },
    { title: 'a file that does not exist', args: () => ['import', join(dir, 'nope.csv'), '--workspace', workspace], line: /^propdict: cannot read .*nope\.csv/ },
    { title: 'a file the server refuses', args: () => ['import', join(dir, 'bad.csv'), '--workspace', workspace], line: /^propdict: the upload failed \(400\): The file is not valid CSV at line 2/ },
    { title: 'a bad filter', args: () => ['export', '--workspace', workspace, '--filter', 'points>3'], line: /^propdict: --filter "points>3" must read property\[op\]=value/ },
  ];
  for (const f of FAILURES) {
    test(`a failure in one line: ${f.title}`, async () => {
      writeFileSync(join(dir, 'bad.csv'), 'member_no,points\n"open,1\n');
      const { code, output } = await runCli(f.args(), f.env?.() ?? env);
      assert.notEqual(code, 0, output);
      const lines = output.split('\n').filter((l) => l.trim() !== '' && !/\| *\d+%/.test(l));
      assert.equal(lines.length, 1, output);
      assert.match(lines[0], f.line, output);
    });
  }
});
