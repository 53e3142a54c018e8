import type { z } from 'zod';
import { RpcError } from './nest-transport';

/**
 * Parses a request payload with a zod schema; a failure is a 400 whose message has one line per
 * problem, each starting with the field it is about (`items[0].price must be ...`).
 * Schemas give their own messages in the form "must be ..." so the lines read as sentences.
 */
export function validatePayload<S extends z.ZodTypeAny>(schema: S, payload: unknown, root = 'payload'): z.output<S> {
  const result = schema.safeParse(payload);
  if (result.success) return result.data as z.output<S>;
  throw new RpcError(400, result.error.issues.flatMap((issue) => describeIssue(issue, root)));
}

function fieldName(path: ReadonlyArray<string | number>, root: string): string {
  let name = '';
  for (const key of path) {
    if (typeof key === 'number') name = `${name || root}[${key}]`;
    else name = name ? `${name}.${key}` : key;
  }
  return name || root;
}

function describeIssue(issue: z.ZodIssue, root: string): string[] {
  const field = fieldName(issue.path, root);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => `${fieldName([...issue.path, key], root)} is not allowed`);
  }
  if (issue.code === 'invalid_type' && issue.received === 'undefined') return [`${field} is required`];
  if (issue.code === 'invalid_type' && issue.message.startsWith('Expected ')) {
    return [`${field} must be of type ${issue.expected}`];
  }
  return [`${field} ${issue.message}`];
}
