import { z } from 'zod';
import { openEnvelope, readJsonBody } from './nest-transport';
import { RpcError } from '../rpc-error';

/** A message read with a schema: its value, or why it cannot be used (one sentence per problem). */
export type Parsed<T> = { kind: 'ok'; value: T } | { kind: 'invalid'; problem: string };

/**
 * Checks a payload with a zod schema. Each problem is one line naming its field the way NestJS's
 * ValidationPipe does (`items.0.quantity must be positive`, `property coupon should not exist`),
 * so callers see the messages they always did. Schemas give their own messages in the form
 * "must be ..." so the lines read as sentences.
 */
function checkPayload<S extends z.ZodTypeAny>(
  schema: S,
  payload: unknown,
  root: string,
): { kind: 'ok'; value: z.output<S> } | { kind: 'invalid'; problems: string[] } {
  const result = schema.safeParse(payload);
  if (result.success) return { kind: 'ok', value: result.data as z.output<S> };
  return {
    kind: 'invalid',
    problems: [...new Set(result.error.issues.flatMap((issue) => describeIssue(issue, root)))],
  };
}

/** Parses a request payload with a zod schema; a failure is a 400 RpcError with one line per problem. */
export function validatePayload<S extends z.ZodTypeAny>(schema: S, payload: unknown, root = 'payload'): z.output<S> {
  const checked = checkPayload(schema, payload, root);
  if (checked.kind === 'invalid') throw new RpcError(400, checked.problems);
  return checked.value;
}

/**
 * The payload of a NestJS event in a stream message, checked like a request's. An event that
 * cannot be read is no error to answer but a message to set aside: its problems come back as a
 * value, never thrown.
 */
export function parseEvent<S extends z.ZodTypeAny>(schema: S, data: Uint8Array): Parsed<z.output<S>> {
  const body = readJsonBody(data);
  if (body.kind === 'invalid') return { kind: 'invalid', problem: body.problem };
  const checked = checkPayload(schema, openEnvelope(body.value).payload, 'data');
  return checked.kind === 'ok' ? checked : { kind: 'invalid', problem: checked.problems.join('; ') };
}

/** `items.0.quantity`; an element of a top-level array is named after the root: `ids.2`. */
function fieldName(path: ReadonlyArray<string | number>, root: string): string {
  if (path.length === 0) return root;
  return typeof path[0] === 'number' ? [root, ...path].join('.') : path.join('.');
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
