// Preloaded with `node --require` into the relay and agent processes of relayProcess.ts: every name under
// `.test` resolves to 127.0.0.1, the stand-in for the wildcard DNS record a real relay has. Other names
// go to the system resolver as usual.
const dns = require('node:dns');

const TEST_NAME = /^(?:[a-z0-9-]+\.)*[a-z0-9-]+\.test\.?$/i;
const systemLookup = dns.lookup;

dns.lookup = function lookup(hostname, options, callback) {
  if (typeof options === 'function') {
    callback = options;
    options = {};
  }
  if (typeof hostname !== 'string' || !TEST_NAME.test(hostname)) return systemLookup.call(this, hostname, options, callback);
  const all = typeof options === 'object' && options !== null && options.all;
  if (all) process.nextTick(callback, null, [{ address: '127.0.0.1', family: 4 }]);
  else process.nextTick(callback, null, '127.0.0.1', 4);
  return {};
};
