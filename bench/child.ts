// What both benchmark servers share: tell the bench (bench/run.ts, bench/profiles.ts, through
// startServer in bench/servers.ts) the port over IPC, answer its questions about CPU time and
// memory used, and close when it closes the channel.

import { writeHeapSnapshot } from 'node:v8';

if (!process.send) throw new Error('This file is started by bench/servers.ts (it reports over IPC).');

export type ToChild = 'cpu' | 'memory' | 'gc' | 'snapshot';
/** Memory in bytes: `peak` is the process's largest RSS so far (getrusage ru_maxrss). */
export interface ChildMemory {
  rss: number;
  peak: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}
/** `gc`: the memory after a full collection (needs --expose-gc); `snapshot`: the heap snapshot's file. */
export type FromChild = { port: number } | { cpu: number } | { memory: ChildMemory } | { gc: ChildMemory } | { snapshot: string };

function memory(): ChildMemory {
  const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
  return { rss, peak: process.resourceUsage().maxRSS * 1024, heapTotal, heapUsed, external, arrayBuffers };
}

export function reportToParent(port: number, close: () => Promise<void>): void {
  const send = (message: FromChild) => process.send?.(message);
  process.on('message', (message: ToChild) => {
    if (message === 'cpu') {
      const { user, system } = process.cpuUsage();
      send({ cpu: user + system });
    } else if (message === 'memory') {
      send({ memory: memory() });
    } else if (message === 'gc') {
      (globalThis as { gc?: () => void }).gc?.();
      send({ gc: memory() });
    } else if (message === 'snapshot') {
      // Into the working directory (BENCH_SOAK_SNAPSHOTS sets it for the soak's server).
      send({ snapshot: writeHeapSnapshot() });
    }
  });
  // process.exit (not a kill) lets --cpu-prof write its profile.
  process.once('disconnect', () => {
    void close().then(() => process.exit(0));
  });
  send({ port });
}
