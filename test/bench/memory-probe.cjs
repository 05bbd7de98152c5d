// Preloaded (node --expose-gc -r) into the relay for the idle-tunnel memory figure only: on the IPC
// message "memory" it collects garbage and answers with process.memoryUsage(). The relay itself is
// unchanged; the throughput runs use a relay without this probe.
process.on('message', (message) => {
  if (message !== 'memory') return;
  for (let i = 0; i < 3; i++) global.gc();
  process.send(process.memoryUsage());
});
