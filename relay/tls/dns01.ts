/**
 * DNS-01 provider hook: how the relay publishes the TXT records that prove it controls the domain,
 * so it can hold one wildcard certificate (`*.example.dev` + `example.dev`) instead of one per tunnel.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { StartupError } from '../startupError.js';

export interface Dns01Hook {
  /**
   * Publishes TXT `value` at `name` (e.g. `_acme-challenge.example.dev`) and resolves once the provider has
   * accepted it. Must ADD a value, not replace the record: `*.example.dev` and `example.dev` are validated
   * through the same name with different values, at the same time.
   */
  set(name: string, value: string): Promise<void>;
  /** Removes that value again. Called only after the whole order has finished, successful or not. */
  clear(name: string, value: string): Promise<void>;
}

/** `_acme-challenge.<name>`; a wildcard is validated at its base name. */
export function txtRecordName(identifier: string): string {
  return `_acme-challenge.${identifier.replace(/^\*\./, '')}`;
}

function isHook(value: unknown): value is Dns01Hook {
  const v = value as Partial<Dns01Hook> | null;
  return typeof v?.set === 'function' && typeof v.clear === 'function';
}

/**
 * Loads a provider plugin: an ES module or CommonJS file whose default export (or the module itself)
 * has `set` and `clear`. Credentials are the plugin's business (its own environment variables).
 */
export async function loadDns01Hook(modulePath: string): Promise<Dns01Hook> {
  const url = pathToFileURL(path.resolve(modulePath)).href;
  let mod: { default?: unknown };
  try {
    mod = (await import(url)) as { default?: unknown };
  } catch (err) {
    throw new StartupError(`Cannot load the DNS-01 hook ${modulePath}: ${(err as Error).message}`);
  }
  const hook = isHook(mod.default) ? mod.default : mod;
  if (!isHook(hook)) {
    throw new StartupError(
      `The DNS-01 hook ${modulePath} must export set(name, value) and clear(name, value) functions that return promises`,
    );
  }
  return hook;
}
