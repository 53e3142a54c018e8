import { z } from 'zod';
import { openEnvelope, readJsonBody } from './nest-transport';
import { RpcError } from '../rpc-error';

/** A message read with a schema: its value, or why it cannot be used (one sentence per problem). */
export type Parsed<T> = { kind: 'ok'; value: T } | { kind: 'invalid'; problem: string };

/**
 * How payloads are parsed: each issue keeps the value it is about (`reportInput`), so a missing field
 * reads `... is required` whatever the schema's own wording, and a wrong type without a message of
 * its schema's reads as a sentence about the field (`... must be an object`), not zod's wording.
 */
const PARSE_PARAMS: z.core.ParseContext<z.core.$ZodIssue> = {
  reportInput: true,
  error: (issue) => (issue.code === 'invalid_type' ? `must be ${article(issue.expected)}` : undefined),
};

/**
 * Checks a payload with a zod schema. Each problem is one line naming its field the way NestJS's
 * ValidationPipe does (`items.0.quantity must be positive`, `property coupon should not exist`),
 * so callers see the messages they always did. Schemas give their own messages in the form
 * "must be ..." so the lines read as sentences.
 */
function checkPayload<S extends z.ZodType>(
  schema: S,
  payload: unknown,
  root: string,
): { kind: 'ok'; value: z.output<S> } | { kind: 'invalid'; problems: string[] } {
  const result = schema.safeParse(payload, PARSE_PARAMS);
  if (result.success) return { kind: 'ok', value: result.data };
  return {
    kind: 'invalid',
    problems: [...new Set(result.error.issues.flatMap((issue) => describeIssue(issue, root)))],
  };
}

/** Parses a request payload with a zod schema; a failure is a 400 RpcError with one line per problem. */
export function validatePayload<S extends z.ZodType>(schema: S, payload: unknown, root = 'payload'): z.output<S> {
  const checked = checkPayload(schema, payload, root);
  if (checked.kind === 'invalid') throw new RpcError(400, checked.problems);
  return checked.value;
}

/**
 * The payload of a NestJS event in a stream message, checked like a request's. An event that
 * cannot be read is no error to answer but a message to set aside: its problems come back as a
 * value, never thrown.
 */
export function parseEvent<S extends z.ZodType>(schema: S, data: Uint8Array): Parsed<z.output<S>> {
  const body = readJsonBody(data);
  if (body.kind === 'invalid') return { kind: 'invalid', problem: body.problem };
  const checked = checkPayload(schema, openEnvelope(body.value).payload, 'data');
  return checked.kind === 'ok' ? checked : { kind: 'invalid', problem: checked.problems.join('; ') };
}

/** `items.0.quantity`; an element of a top-level array is named after the root: `ids.2`. */
function fieldName(path: readonly PropertyKey[], root: string): string {
  if (path.length === 0) return root;
  return (typeof path[0] === 'number' ? [root, ...path] : path).map(String).join('.');
}

/** Issues that a missing value (no input) raises: a wrong type, no option of a union or enum. */
const MISSING_VALUE_CODES: ReadonlySet<string> = new Set(['invalid_type', 'invalid_union', 'invalid_value']);

function describeIssue(issue: z.core.$ZodIssue, root: string): string[] {
  const field = fieldName(issue.path, root);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => `property ${fieldName([...issue.path, key], root)} should not exist`);
  }
  if (MISSING_VALUE_CODES.has(issue.code) && issue.input === undefined) return [`${field} is required`];
  return [`${field} ${issue.message}`];
}

/** `a string`, `an object`; zod's `int` (a number that is not an integer) reads `an integer`. */
const article = (type: string): string => {
  const noun = type === 'int' ? 'integer' : type;
  return /^[aeiou]/.test(noun) ? `an ${noun}` : `a ${noun}`;
};
