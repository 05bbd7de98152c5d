// Debian's Chromium as the tests and benchmarks drive it with playwright-core: where it is, and the
// flags it needs on these machines (closed network: no background requests, which fail many at a
// time; no GPU; running as root).
export const CHROMIUM = process.env.PORTHOLE_CHROMIUM || '/usr/bin/chromium';

export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];
