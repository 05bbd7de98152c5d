/** The access rules a share's owner picks besides a password, and the policy the agent sends for them. */
import { newLinkKey, parsePolicy } from '../../core/access.js';
import type { AccessPolicy } from '../../core/protocol.js';
import { AgentError } from './relayConnection.js';

/** The access rules of a share besides its password, as its owner picks them. */
export interface AccessChoice {
  /** Only visitors who opened the private link (a key the agent makes, kept for the agent's life). */
  privateLink?: boolean;
  /** IPv4/IPv6 ranges or addresses that may open the share. */
  allowIps?: string[];
  /** Path globs anyone may reach, past the password, the link and the allow-list. */
  openPaths?: string[];
}

/** The HELLO's access policy for a choice, with a fresh link key; undefined when nothing is chosen. Throws on a bad range or glob. */
export function accessPolicy(choice: AccessChoice | undefined): AccessPolicy | undefined {
  const policy: AccessPolicy = {};
  if (choice?.privateLink) policy.linkKey = newLinkKey();
  if (choice?.allowIps?.length) policy.allowIps = [...choice.allowIps];
  if (choice?.openPaths?.length) policy.openPaths = [...choice.openPaths];
  if (Object.keys(policy).length === 0) return undefined;
  const parsed = parsePolicy(policy);
  if ('error' in parsed) throw new AgentError('access', parsed.error);
  return policy;
}
