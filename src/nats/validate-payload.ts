import { z } from 'zod';
import { openEnvelope, parseJsonBody, RpcError } from './nest-transport';

/**
 * Parses a request payload with a zod schema; a failure is a 400 whose message has one line per
 * problem, each naming its field the way NestJS's ValidationPipe does (`items.0.quantity must be
 * positive`, `property coupon should not exist`), so gateways show the messages they always did.
 * Schemas give their own messages in the form "must be ..." so the lines read as sentences.
 */
export function validatePayload<S extends z.ZodTypeAny>(schema: S, payload: unknown, root = 'payload'): z.output<S> {
  const result = schema.safeParse(payload);
  if (result.success) return result.data as z.output<S>;
  throw new RpcError(400, [...new Set(result.error.issues.flatMap((issue) => describeIssue(issue, root)))]);
}

/** `items.0.quantity`; an element of a top-level array is named after the root: `ids.2`. */
function fieldName(path: ReadonlyArray<string | number>, root: string): string {
  if (path.length === 0) return root;
  return typeof path[0] === 'number' ? [root, ...path].join('.') : path.join('.');
}

/** The payload of a NestJS event in a stream message, checked like a request's (400 RpcError). */
export function readEventPayload<S extends z.ZodTypeAny>(schema: S, data: Uint8Array): z.output<S> {
  return validatePayload(schema, openEnvelope(parseJsonBody(data)).payload, 'data');
}

function describeIssue(issue: z.ZodIssue, root: string): string[] {
  const field = fieldName(issue.path, root);
  if (issue.code === z.ZodIssueCode.unrecognized_keys) {
    return issue.keys.map((key) => `property ${fieldName([...issue.path, key], root)} should not exist`);
  }
  if (issue.code === z.ZodIssueCode.invalid_type && issue.received === 'undefined') return [`${field} is required`];
  // zod's own wording ("Expected object, received string") becomes a sentence about the field.
  if (issue.code === z.ZodIssueCode.invalid_type && issue.message.startsWith('Expected ')) {
    return [`${field} must be ${article(issue.expected)}`];
  }
  return [`${field} ${issue.message}`];
}

const article = (type: string): string => (/^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`);
