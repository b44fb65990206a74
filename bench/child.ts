// What both benchmark servers share: tell the bench (bench/run.ts, bench/profiles.ts, through
// startServer in bench/servers.ts) the port over IPC, answer its questions about CPU time and
// memory used, and close when it closes the channel.

if (!process.send) throw new Error('This file is started by bench/servers.ts (it reports over IPC).');

export type ToChild = 'cpu' | 'memory';
/** Memory in bytes: `peak` is the process's largest RSS so far (getrusage ru_maxrss). */
export interface ChildMemory {
  rss: number;
  peak: number;
  heapTotal: number;
  external: number;
}
export type FromChild = { port: number } | { cpu: number } | { memory: ChildMemory };

export function reportToParent(port: number, close: () => Promise<void>): void {
  const send = (message: FromChild) => process.send?.(message);
  process.on('message', (message: ToChild) => {
    if (message === 'cpu') {
      const { user, system } = process.cpuUsage();
      send({ cpu: user + system });
    } else if (message === 'memory') {
      const { rss, heapTotal, external } = process.memoryUsage();
      send({ memory: { rss, peak: process.resourceUsage().maxRSS * 1024, heapTotal, external } });
    }
  });
  // process.exit (not a kill) lets --cpu-prof write its profile.
  process.once('disconnect', () => {
    void close().then(() => process.exit(0));
  });
  send({ port });
}
