import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Registry, nameProblem } from '../../relay/registry';
import type { Tunnel } from '../../core/tunnel';
import { ManualClock } from '../clock';

const tunnel = (label: string) => ({ label }) as unknown as Tunnel;

test('names follow DNS label rules and reserved names are refused', () => {
  for (const good of ['myapp', 'a', 'my-app-2', '0day']) assert.is(nameProblem(good), undefined, good);
  for (const bad of ['Not_A..Name!', '-lead', 'trail-', 'a'.repeat(64), 'has.dot', ''])
    assert.match(nameProblem(bad) ?? '', /not a valid name/, bad);
  assert.match(nameProblem('www') ?? '', /reserved/);
});

test('a random name is readable and unique', () => {
  const registry = new Registry({ gracePeriodMs: 1000, maxTunnelsPerToken: 1000 });
  const names = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const claim = registry.claim({ protocol: 1, agent: 't' }, 'owner', tunnel(String(i)));
    assert.ok(claim.ok);
    if (claim.ok) names.add(claim.registration.subdomain);
  }
  assert.is(names.size, 200);
  for (const name of names) assert.match(name, /^[a-z]+-[a-z]+-\d\d$/);
  registry.clear();
});

test('a taken name is refused; its owner gets it back with the resume secret during the grace period', () => {
  const clock = new ManualClock();
  const registry = new Registry({ gracePeriodMs: 60_000, maxTunnelsPerToken: 5 }, clock);
  const first = tunnel('first');
  const claim = registry.claim({ protocol: 1, agent: 't', subdomain: 'myapp' }, 'owner', first);
  assert.ok(claim.ok);
  if (!claim.ok) return;
  const resume = claim.registration.resume;
  const thief = registry.claim(
    { protocol: 1, agent: 't', subdomain: 'myapp', resume: 'guess-guess-guess-guess' },
    'other',
    tunnel('thief'),
  );
  assert.ok(!thief.ok && thief.refusal.code === 'taken' && /in use/.test(thief.refusal.message));

  registry.disconnected(claim.registration, first, false);
  clock.advance(45_000);
  const during = registry.claim({ protocol: 1, agent: 't', subdomain: 'myapp' }, 'other', tunnel('thief'));
  assert.ok(!during.ok && /reserved for its previous agent for 15 more seconds/.test(during.refusal.message), JSON.stringify(during));
  clock.advance(14_999);
  const back = registry.claim({ protocol: 1, agent: 't', subdomain: 'myapp', resume }, 'owner', tunnel('second'));
  assert.ok(back.ok);
  assert.is(clock.pending, 0, 'coming back ends the grace period');

  if (back.ok) registry.disconnected(back.registration, back.registration.tunnel as Tunnel, false);
  clock.advance(59_999);
  assert.ok(registry.lookup('myapp'), 'still reserved a millisecond before the grace period ends');
  clock.advance(1);
  assert.is(registry.lookup('myapp'), undefined, 'the name is free once the grace period is over');
});

test('a clean disconnect frees the name at once', () => {
  const registry = new Registry({ gracePeriodMs: 60_000, maxTunnelsPerToken: 5 });
  const t = tunnel('t');
  const claim = registry.claim({ protocol: 1, agent: 't', subdomain: 'myapp' }, 'owner', t);
  assert.ok(claim.ok);
  if (claim.ok) registry.disconnected(claim.registration, t, true);
  assert.is(registry.lookup('myapp'), undefined);
});

test('tunnels per token are limited', () => {
  const registry = new Registry({ gracePeriodMs: 1000, maxTunnelsPerToken: 2 });
  assert.ok(registry.claim({ protocol: 1, agent: 't' }, 'owner', tunnel('1')).ok);
  assert.ok(registry.claim({ protocol: 1, agent: 't' }, 'owner', tunnel('2')).ok);
  const third = registry.claim({ protocol: 1, agent: 't' }, 'owner', tunnel('3'));
  assert.ok(!third.ok && third.refusal.code === 'limit');
  assert.ok(registry.claim({ protocol: 1, agent: 't' }, 'someone-else', tunnel('4')).ok);
  registry.clear();
});

test('onRelease hears a name freed by a clean close or the end of its grace period, not one dropped or cleared', async () => {
  const released: string[] = [];
  const registry = new Registry({ gracePeriodMs: 50, maxTunnelsPerToken: 5, onRelease: (r) => released.push(r.subdomain) });
  const hello = (subdomain: string) => ({ protocol: 1, agent: 't', subdomain });
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(tunnel);
  const claims = [registry.claim(hello('clean'), 'o', a), registry.claim(hello('grace'), 'o', b), registry.claim(hello('moved'), 'o', c)];
  const [clean, grace] = claims.map((claim) => {
    if (!claim.ok) throw new Error(claim.refusal.message);
    return claim.registration;
  });
  registry.disconnected(clean, a, true);
  registry.disconnected(grace, b, false);
  assert.is(registry.drop('moved')?.tunnel, c, 'drop hands back the registration, connection and all');
  registry.claim(hello('cleared'), 'o', d);
  registry.clear();
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(released, ['clean']);
});

test('hold gives a decided name to a connection: a waiting registration gets its agent back, a live one is replaced', () => {
  const registry = new Registry({ gracePeriodMs: 60_000, maxTunnelsPerToken: 5 });
  const [first, second] = [tunnel('first'), tunnel('second')];
  const held = registry.hold('myapp', 'owner', 'resume-secret-0123456789', first);
  assert.is(held.replaced, undefined);
  registry.disconnected(held.registration, first, false);
  assert.ok(held.registration.reconnectingUntil);
  const access = { digestKey: 'k', password: 'digest' };
  const back = registry.hold('myapp', 'owner', 'resume-secret-0123456789', second, access);
  assert.is(back.registration, held.registration);
  assert.is(back.registration.tunnel, second);
  assert.is(back.registration.reconnectingUntil, undefined);
  assert.is(back.registration.access, access);
  assert.is(registry.hold('myapp', 'owner', 'resume-secret-0123456789', first).replaced, second);
  registry.clear();
});

test.run();
