/** package.json is the extension's manifest too: what it states must agree with the code's own constants. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { DNS_LABEL } from '../../core/names';
import { VERSION } from '../../core/version';
import { COMMANDS } from '../../extension/commandIds';
import { DEFAULT_HTTP_PORT } from '../../relay/config';
import { DEFAULT_CAPTURE_BYTES, MAX_CAPTURE_BYTES } from '../../extension/agent/requestRecord';
import { DEFAULT_MAX_ENTRIES } from '../../extension/requestLog/requestLog';

const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '../../package.json'), 'utf8'));
const settings = manifest.contributes.configuration.properties;

test('the version the relay and agent report is the package version', () => {
  assert.is(VERSION, manifest.version);
});

test('every contributed command is registered by the extension, and every registered one but the menu is contributed', () => {
  const contributed = manifest.contributes.commands.map((c: { command: string }) => c.command).sort();
  const { menu, ...registered } = COMMANDS;
  assert.equal(contributed, Object.values(registered).sort());
  assert.not.ok(contributed.includes(menu));
});

test('the subdomain setting accepts exactly the names the relay accepts (or nothing)', () => {
  const setting = new RegExp(settings['porthole.subdomain'].pattern);
  for (const name of ['', 'a', 'myapp', 'my-app-3000', 'a'.repeat(63), 'a'.repeat(64), '-a', 'a-', 'My', 'a.b', 'a_b', 'ü']) {
    assert.is(setting.test(name), name === '' || DNS_LABEL.test(name), JSON.stringify(name));
  }
});

test('the embedded relay port defaults to the relay default', () => {
  assert.is(settings['porthole.embeddedRelayPort'].default, DEFAULT_HTTP_PORT);
});

test('the request-log settings default to the constants the agent and the CLI use', () => {
  assert.is(settings['porthole.requestLog.captureBytes'].default, DEFAULT_CAPTURE_BYTES);
  assert.is(settings['porthole.requestLog.captureBytes'].maximum, MAX_CAPTURE_BYTES);
  assert.is(settings['porthole.requestLog.maxEntries'].default, DEFAULT_MAX_ENTRIES);
  assert.match(settings['porthole.requestLog.captureBytes'].markdownDescription, /500 MiB at worst/);
});

test.run();
