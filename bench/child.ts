// What both benchmark servers share: tell bench/run.ts the port over IPC, answer its questions
// about CPU time used, and close when it closes the channel.

if (!process.send) throw new Error('This file is started by bench/run.ts (it reports over IPC).');

export type ToChild = 'cpu';
export type FromChild = { port: number } | { cpu: number };

export function reportToParent(port: number, close: () => Promise<void>): void {
  const send = (message: FromChild) => process.send?.(message);
  process.on('message', (message: ToChild) => {
    if (message === 'cpu') {
      const { user, system } = process.cpuUsage();
      send({ cpu: user + system });
    }
  });
  // process.exit (not a kill) lets --cpu-prof write its profile.
  process.once('disconnect', () => {
    void close().then(() => process.exit(0));
  });
  send({ port });
}
