/**
 * A DNS-01 hook for `node relay --acme-dns-hook`, as a DNS provider plugin would be, publishing TXT
 * records in pebble-challtestsrv (the test harness's DNS server, at $CHALLTESTSRV).
 * challtestsrv's /clear-txt removes every value of a name at once; that is safe here because the relay
 * clears only after the whole order has finished.
 */
const base = process.env.CHALLTESTSRV;

async function post(op, body) {
  if (!base) throw new Error('CHALLTESTSRV is not set: run under the pebble harness (node test/pebble.mjs ...)');
  const res = await fetch(`${base}/${op}`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`challtestsrv /${op} answered ${res.status}: ${await res.text()}`);
}

export async function set(name, value) {
  await post('set-txt', { host: `${name}.`, value });
}

export async function clear(name) {
  await post('clear-txt', { host: `${name}.` });
}
