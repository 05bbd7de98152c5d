/**
 * The checks of the JSON control frames a peer sends (HELLO, WELCOME, REFUSE, RESET), made where
 * they arrive: decodeJson only promises an object, and these promise each field its type and range,
 * so nothing a peer writes reaches a timer, a loop or a browser unchecked.
 */
import {
  type AccessSummary,
  DATA_FRAME_BYTES,
  type Hello,
  MAX_FRAME_PAYLOAD,
  ProtocolError,
  REFUSAL_CODES,
  RESET_CODES,
  type Refusal,
  type Reset,
  type Welcome,
} from './protocol.js';

/** The relay's check of HELLO: each field of the type it claims, access rules included; throws ProtocolError otherwise. */
export function checkHello(hello: Hello): Hello {
  const optionalStrings = [hello.token, hello.subdomain, hello.resume, hello.basicAuth, hello.agent];
  if (typeof hello.protocol !== 'number' || optionalStrings.some((v) => v !== undefined && typeof v !== 'string')) {
    throw new ProtocolError('HELLO needs a protocol number and text (or nothing) for agent, token, subdomain, resume and basicAuth');
  }
  const access = hello.access;
  if (access === undefined) return hello;
  const texts = (list: unknown) => list === undefined || (Array.isArray(list) && list.every((v) => typeof v === 'string'));
  if (
    access === null ||
    typeof access !== 'object' ||
    Array.isArray(access) ||
    !(access.linkKey === undefined || typeof access.linkKey === 'string') ||
    !texts(access.allowIps) ||
    !texts(access.openPaths)
  ) {
    throw new ProtocolError('HELLO access needs text (or nothing) for linkKey and lists of text (or nothing) for allowIps and openPaths');
  }
  return hello;
}

/** Heartbeat intervals an agent accepts from WELCOME, in seconds: Node's timers cannot wait much longer than 24 days. */
const HEARTBEAT_SECONDS = { min: 0.1, max: 24 * 3600 };

/** The agent's check of WELCOME: the URL is opened in a browser, the heartbeat and frame size drive timers and loops. */
export function checkWelcome(welcome: Welcome): Welcome {
  const { url, subdomain, resume, heartbeat, maxFrame } = welcome;
  if (!isWebUrl(url)) throw new ProtocolError("WELCOME needs the tunnel's http:// or https:// URL");
  if (typeof subdomain !== 'string' || typeof resume !== 'string') throw new ProtocolError('WELCOME needs a subdomain and a resume secret');
  if (typeof heartbeat !== 'number' || !(heartbeat >= HEARTBEAT_SECONDS.min && heartbeat <= HEARTBEAT_SECONDS.max)) {
    throw new ProtocolError(`WELCOME needs a heartbeat of ${HEARTBEAT_SECONDS.min} to ${HEARTBEAT_SECONDS.max} seconds`);
  }
  if (maxFrame !== undefined && !(Number.isInteger(maxFrame) && maxFrame >= DATA_FRAME_BYTES && maxFrame <= MAX_FRAME_PAYLOAD)) {
    throw new ProtocolError(`WELCOME's frame size must be a whole number from ${DATA_FRAME_BYTES} to ${MAX_FRAME_PAYLOAD}`);
  }
  if (welcome.link !== undefined && !isWebUrl(welcome.link))
    throw new ProtocolError("WELCOME's private link must be an http:// or https:// URL");
  if (welcome.access !== undefined && !isAccessSummary(welcome.access)) {
    throw new ProtocolError("WELCOME's access summary needs password and privateLink (true or false), allowIps and openPaths (counts)");
  }
  return welcome;
}

/** An http(s) URL Node can parse: what the agent and VS Code may open, copy or show as a QR code. */
function isWebUrl(url: unknown): url is string {
  return typeof url === 'string' && /^https?:\/\/[^/\s]/i.test(url) && URL.canParse(url);
}

function isAccessSummary(access: unknown): access is AccessSummary {
  if (access === null || typeof access !== 'object') return false;
  const { password, privateLink, allowIps, openPaths } = access as Record<string, unknown>;
  const count = (n: unknown) => Number.isInteger(n) && (n as number) >= 0;
  return typeof password === 'boolean' && typeof privateLink === 'boolean' && count(allowIps) && count(openPaths);
}

/** The agent's check of REFUSE: a known code and a message, or the refusal is itself malformed. */
export function checkRefusal(refusal: Refusal): Refusal {
  if (!(REFUSAL_CODES as readonly string[]).includes(refusal.code) || typeof refusal.message !== 'string') {
    throw new ProtocolError('REFUSE needs a known code and a message');
  }
  return { code: refusal.code, message: refusal.message.slice(0, 1000) };
}

/** A side's check of RESET: a known code and a message (cut to what a page shows); throws ProtocolError otherwise. */
export function checkReset(reset: Reset, stream: number): Reset {
  if (!(RESET_CODES as readonly string[]).includes(reset.code) || typeof reset.message !== 'string') {
    throw new ProtocolError(`RESET on stream ${stream} needs a known code and a message`);
  }
  return { code: reset.code, message: reset.message.slice(0, 1000) };
}
