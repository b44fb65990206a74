// Where a server's CPU goes, by kind of work, from Linux perf's samples: SQLite, the kernel's
// network and file work, garbage collection, and the JavaScript that is left. V8's own profiler
// (--cpu-prof) names the JavaScript functions, but it samples the wall clock: time the thread
// spends descheduled, typically right after a socket write wakes the load generator, is counted
// against the write. perf counts CPU time only. The JavaScript frames are not named here (perf
// would need V8's code map, which goes stale as V8 moves code): the native frames that sort the
// samples are exact.
//
// bench/run.ts records with BENCH_PERF=<folder>; then `npx node bench/perf-split.ts <folder>`
// prints one column per recorded scenario. Needs `perf` (linux-perf) and the right to attach to
// the server (root, or kernel.perf_event_paranoid <= 1).
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** Samples a second: the busy share of the main thread is its samples against this rate. */
const FREQUENCY = 999;

/** Starts `perf record` on the process `pid`; `stop` ends it once the file is written. */
export async function perfRecord(pid: number, file: string): Promise<{ stop(): Promise<void> }> {
  const perf = spawn('perf', ['record', '-F', String(FREQUENCY), '-g', '-p', String(pid), '-o', file], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve, reject) => {
    perf.once('error', reject);
    perf.once('exit', () => resolve());
  });
  await new Promise<void>((resolve, reject) => {
    perf.once('spawn', resolve);
    perf.once('error', reject);
  });
  return {
    async stop() {
      perf.kill('SIGINT');
      await exited;
    },
  };
}

/** The kind of work a sample is, from its frames (innermost first). */
function kindOf(frames: string[]): string {
  const leaf = frames[0] ?? '';
  const native = frames.join(' ');
  if (leaf.includes('[kernel.kallsyms]')) {
    if (/fsync|fdatasync|pwrite|pread|fcntl|posix_lock|ext4|jbd2|filemap/.test(native)) return 'kernel: files (writes, syncs, locks)';
    if (/tcp|sock|inet|ip_|epoll|net_rx|skb/.test(native)) return 'kernel: network and epoll';
    return 'kernel: other (scheduling, page faults)';
  }
  if (/sqlite3|pcache|Btree|Vdbe|Pager/.test(leaf)) return 'SQLite (C)';
  if (native.includes('node::sqlite::')) return 'node:sqlite (rows to JavaScript values)';
  if (/Scaven|Marking|Heap::|Sweep|Evacuat|Compactor/.test(leaf)) return 'garbage collection';
  if (/llhttp|http_parser/.test(leaf)) return 'HTTP parser';
  return 'JavaScript and V8 runtime';
}

interface Split {
  kinds: Map<string, number>;
  /** Samples of the main thread (tid = pid); the others are V8's and libuv's helper threads. */
  main: number;
  all: number;
  seconds: number;
}

/** Reads a perf.data file through `perf script` and sorts the main thread's samples. */
async function split(file: string): Promise<Split> {
  const script = spawn('perf', ['script', '-i', file, '-F', 'pid,tid,time,ip,sym,dso'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const out: Split = { kinds: new Map(), main: 0, all: 0, seconds: 0 };
  let first: number | undefined;
  let last = 0;
  let sample: { main: boolean; frames: string[] } | undefined;
  const done = () => {
    if (!sample) return;
    out.all++;
    if (sample.main) {
      out.main++;
      const kind = kindOf(sample.frames);
      out.kinds.set(kind, (out.kinds.get(kind) ?? 0) + 1);
    }
    sample = undefined;
  };
  for await (const line of createInterface({ input: script.stdout })) {
    const head = /^\s*(\d+)\/(\d+)\s+([\d.]+):/.exec(line);
    if (head) {
      done();
      const time = Number(head[3]);
      first ??= time;
      last = time;
      sample = { main: head[1] === head[2], frames: [] };
    } else if (sample && line.trim() !== '') sample.frames.push(line.trim());
  }
  done();
  out.seconds = first === undefined ? 0 : last - first;
  return out;
}

if (import.meta.main) {
  const folder = process.argv[2];
  if (!folder) throw new Error('usage: npx node bench/perf-split.ts <folder of BENCH_PERF recordings>');
  const files = readdirSync(folder)
    .filter((f) => f.endsWith('.data'))
    .sort((a, b) => parseInt(a) - parseInt(b));
  const splits = await Promise.all(files.map((f) => split(join(folder, f))));
  const kinds = [...new Set(splits.flatMap((s) => [...s.kinds.keys()]))].sort((a, b) => splits.reduce((n, s) => n + (s.kinds.get(b) ?? 0) - (s.kinds.get(a) ?? 0), 0));
  const pct = (n: number, of: number) => `${Math.round((100 * n) / Math.max(1, of))}%`;
  console.log(`| share of the main thread's CPU | ${files.map((f) => f.replace(/^\d+-|\.data$/g, '')).join(' | ')} |`);
  console.log(`|---|${files.map(() => '---').join('|')}|`);
  for (const kind of kinds) console.log(`| ${kind} | ${splits.map((s) => pct(s.kinds.get(kind) ?? 0, s.main)).join(' | ')} |`);
  console.log(`| main thread busy | ${splits.map((s) => pct(s.main, s.seconds * FREQUENCY)).join(' | ')} |`);
  console.log(`| main thread's share of the process's CPU | ${splits.map((s) => pct(s.main, s.all)).join(' | ')} |`);
}
