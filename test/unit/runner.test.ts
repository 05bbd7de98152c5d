/** The stages' uvu runner (test/uvu.cjs): a hung test fails by name, and a process left running is ended, saying what it held. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { exitWithin, run } from '../helpers';

test('a test that never settles fails with its name; a server left open is named and the process ends', async () => {
  const child = run(['test/uvu.cjs', 'test/fixtures/runner'], { PORTHOLE_TEST_LIMIT_MS: '1000', PORTHOLE_LINGER_MS: '500', NO_COLOR: '1' });
  try {
    assert.is(await exitWithin(child, 30_000), 1);
    assert.match(child.out, /Total:\s+3\b/);
    assert.match(child.out, /Passed:\s+1\b/);
    assert.match(child.out, 'lingers.test.ts › careless › never settles: not finished after 1 s');
    assert.match(child.err, /Every test has run, but the process is still up 0\.5 s later/);
    assert.match(child.err, /- a server listening on 127\.0\.0\.1:\d+/);
  } finally {
    await child.stop('SIGKILL');
  }
});

test.run();
