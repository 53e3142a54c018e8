/**
 * Which reply subjects a responder may publish its answer on. A request names its own reply
 * subject, and the responder publishes there with its own permissions: without this check any
 * caller could make a service publish on `$JS.API.STREAM.PURGE.PAYMENTS` (a confused deputy).
 */

/** The NATS client inboxes (nats.js and NestJS's ClientProxy use `_INBOX.<nuid>...`). */
export const DEFAULT_INBOX_PREFIXES: readonly string[] = ['_INBOX.'];

/**
 * The server's own APIs (JetStream, system, key-value and object stores): never a reply subject,
 * whatever NATS_INBOX_PREFIXES says.
 */
export const RESERVED_PREFIXES: readonly string[] = ['$JS.', '$SYS.', '$KV.', '$O.'];

/** True when an answer may be published on `reply`. */
export function isAllowedReplySubject(reply: string, inboxPrefixes: readonly string[]): boolean {
  if (RESERVED_PREFIXES.some((reserved) => reply.startsWith(reserved))) return false;
  return inboxPrefixes.some((prefix) => reply.startsWith(prefix));
}

/**
 * Why a configured inbox prefix cannot be used, or undefined when it can. A prefix that covers a
 * reserved one (`$`, `$J`) would let replies reach the server's APIs; one inside it (`$JS.API.`) is
 * one; wildcards and spaces never start a subject.
 */
export function inboxPrefixProblem(prefix: string): string | undefined {
  if (/[\s*>]/.test(prefix)) return `"${prefix}" must be a literal subject prefix (no spaces, * or >)`;
  const reserved = RESERVED_PREFIXES.find((name) => prefix.startsWith(name) || name.startsWith(prefix));
  if (reserved !== undefined) return `"${prefix}" overlaps ${reserved}, where replies are never sent`;
  return undefined;
}
