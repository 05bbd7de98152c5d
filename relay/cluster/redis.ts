/**
 * The one adapter around ioredis: connections that fail fast while Redis is away (no offline queue,
 * a command timeout) and reconnect on their own, Lua scripts by digest, and up/down events for the
 * node. Everything in relay/cluster/ talks to Redis through this module.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import Redis from 'ioredis';
import type { Log } from '../log.js';
import { LogThrottle } from '../logThrottle.js';
import { StartupError } from '../startupError.js';

/** A command that gets no answer in this time fails; the node then acts as if Redis were away. */
const COMMAND_TIMEOUT_MS = 2_000;
/** Reconnect attempts: quickly at first, then every second, for as long as it takes. */
const retryDelay = (attempt: number) => Math.min(attempt * 200, 1_000);

export type Reply = string | number | null | Reply[];

export interface RedisLink {
  /** True while commands can be sent. */
  readonly up: boolean;
  /** Runs a Lua script (by digest, loading it on first use). */
  run(script: Script, keys: string[], args: (string | number)[]): Promise<Reply>;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  /** SET NX (PX): true when this call created the key. */
  setIfAbsent(key: string, value: string, ttlMs?: number): Promise<boolean>;
  del(key: string): Promise<void>;
  publish(channel: string, message: string): Promise<void>;
  /** Resident memory of the Redis server, for the scale figures. */
  memoryUsed(): Promise<number>;
  /** `handler` hears every message on `channel`, re-subscribed after each reconnect. */
  subscribe(channel: string, handler: (message: string) => void): Promise<void>;
  on(event: 'up' | 'down', listener: () => void): void;
  close(): Promise<void>;
}

export interface Script {
  lua: string;
  sha: string;
}

export function script(lua: string): Script {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

/**
 * Connects to `url` (redis:// or rediss://, with a password and /DB as Redis URLs have them).
 * Resolves once both connections are ready, or rejects after `readyMs` with Redis's own words.
 */
export async function connectRedis(url: string, name: string, log: Log, readyMs = 10_000): Promise<RedisLink> {
  const options = {
    lazyConnect: true,
    enableOfflineQueue: false,
    commandTimeout: COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: retryDelay,
    connectionName: name,
  };
  const command = new Redis(url, options);
  const subscriber = new Redis(url, { ...options, commandTimeout: undefined });
  const events = new EventEmitter();
  const handlers = new Map<string, (message: string) => void>();
  const messageFailures = new LogThrottle();
  let up = false;
  let lastError = '';
  let closing = false;
  for (const connection of [command, subscriber]) {
    connection.on('error', (error: Error) => {
      // Every failed reconnect reports the same error: say it once per outage.
      if (error.message !== lastError) log('redis.error', { error: error.message });
      lastError = error.message;
    });
    connection.on('ready', () => {
      const now = command.status === 'ready' && subscriber.status === 'ready';
      if (now && !up) {
        up = true;
        lastError = '';
        log('redis.up', { url: redacted(url) });
        events.emit('up');
      }
    });
    connection.on('close', () => {
      if (!up || closing) return;
      up = false;
      log('redis.down', { url: redacted(url), hint: 'serving the tunnels connected here; reconnecting' });
      events.emit('down');
    });
  }
  subscriber.on('message', (channel: string, message: string) => {
    // Whatever a message holds, a handler that throws on it must not throw into ioredis.
    try {
      handlers.get(channel)?.(message);
    } catch (error) {
      const line = messageFailures.due(channel);
      if (line) log('redis.message-failed', { channel, error: (error as Error).message, failures: line.count });
    }
  });

  const ready = Promise.all([command.connect(), subscriber.connect()]);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${readyMs / 1000} s`)), readyMs);
  });
  try {
    await Promise.race([ready, timeout]);
  } catch (error) {
    command.disconnect();
    subscriber.disconnect();
    throw new StartupError(
      `Cannot reach Redis at ${redacted(url)}: ${lastError || (error as Error).message}. Check --redis (redis://[:password@]host:port[/db], rediss:// for TLS) and that Redis is running.`,
    );
  } finally {
    clearTimeout(timer);
  }
  up = true;

  const run = async (s: Script, keys: string[], args: (string | number)[]): Promise<Reply> => {
    try {
      return (await command.evalsha(s.sha, keys.length, ...keys, ...args)) as Reply;
    } catch (error) {
      if (!(error as Error).message.startsWith('NOSCRIPT')) throw error;
      return (await command.eval(s.lua, keys.length, ...keys, ...args)) as Reply;
    }
  };
  return {
    get up() {
      return up;
    },
    run,
    get: (key) => command.get(key),
    async set(key, value, ttlMs) {
      if (ttlMs === undefined) await command.set(key, value);
      else await command.set(key, value, 'PX', ttlMs);
    },
    async setIfAbsent(key, value, ttlMs) {
      const reply = ttlMs === undefined ? await command.set(key, value, 'NX') : await command.set(key, value, 'PX', ttlMs, 'NX');
      return reply === 'OK';
    },
    async del(key) {
      await command.del(key);
    },
    async publish(channel, message) {
      await command.publish(channel, message);
    },
    async memoryUsed() {
      const info = await command.info('memory');
      return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
    },
    async subscribe(channel, handler) {
      handlers.set(channel, handler);
      await subscriber.subscribe(channel);
    },
    on: (event, listener) => void events.on(event, listener),
    async close() {
      closing = true;
      await Promise.allSettled([command.quit(), subscriber.quit()]);
      command.disconnect();
      subscriber.disconnect();
    },
  };
}

/** The URL without its password, for logs and messages. */
export function redacted(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return 'the --redis URL';
  }
}
