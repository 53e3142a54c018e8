import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { z } from 'zod';

/**
 * How a configuration is declared: sections of fields, each field one environment variable with its
 * validation and default. src/config.ts (the services') and dev/config.ts (npm start's) use it.
 */

export type Env = Record<string, string | undefined>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export const port = z.coerce.number().int().min(1).max(65535);
/**
 * A port to listen on, `fallback` when unset; 0 or empty turns the endpoint off (undefined). The
 * default comes before the transform: zod 4 would also put it in place of an undefined output.
 */
export const optionalPort = (fallback: number) =>
  z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(fallback)
    .transform((value) => (value === 0 ? undefined : value));
export const positiveInt = z.coerce.number().int().positive();
/** An integer from `min` (to `max`), `fallback` when unset. */
export const int = (min: number, fallback: number, max = Infinity) =>
  z.coerce.number().int().min(min).max(max).default(fallback);
/** A non-empty string, `fallback` when unset. */
export const text = (fallback: string) => z.string().min(1).default(fallback);
export const url = z.url();
/** Unset or empty: undefined. */
export const optional = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value === '' ? undefined : value));
export const optionalUrl = optional.pipe(url.optional());
export const flag = z
  .enum(['true', 'false', '1', '0', ''])
  .optional()
  .transform((value) => value === 'true' || value === '1');
/** A comma-separated list, blanks dropped. */
export const list = z
  .string()
  .optional()
  .transform((value) =>
    (value ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  );

/** One environment variable: its name, and the schema that validates it and gives its default. */
export interface Variable<N extends string = string, S extends z.ZodType = z.ZodType> {
  name: N;
  schema: S;
}

export function variable<N extends string, S extends z.ZodType>(name: N, schema: S): Variable<N, S> {
  return { name, schema };
}

type Fields = Record<string, Variable>;
/** A section's fields as their variables give them. */
export type Values<F extends Fields> = { [K in keyof F]: z.output<F[K]['schema']> };
type Shape<F extends Fields> = { [K in keyof F as F[K]['name']]: F[K]['schema'] };

export interface SectionRules<F extends Fields, T> {
  /** Settings that are valid one by one but not together: one line each, naming the variables. */
  check?: (values: Values<F>) => string[];
  /** The section as the code reads it, when that is not the values as they are. */
  derive?: (values: Values<F>) => T;
}

/**
 * A section of a configuration: a schema whose input is the environment and whose output is the
 * section (z.output of it is the section's type). A bad value's issue is named by its variable.
 */
export function section<F extends Fields, T = Values<F>>(fields: F, rules: SectionRules<F, T> = {}) {
  const shape = Object.fromEntries(Object.values(fields).map((field) => [field.name, field.schema]));
  const schema = z.object(shape as Shape<F> & z.ZodRawShape).transform((env, context) => {
    const read = env as Record<string, unknown>;
    const values = Object.fromEntries(Object.entries(fields).map(([key, field]) => [key, read[field.name]]));
    const problems = rules.check?.(values as Values<F>) ?? [];
    for (const message of problems) context.addIssue({ code: 'custom', message });
    if (problems.length > 0) return z.NEVER;
    return rules.derive ? rules.derive(values as Values<F>) : (values as T);
  });
  return Object.assign(schema, { variables: Object.values(fields).map((field) => field.name as F[keyof F]['name']) });
}

type Section = z.ZodType & { variables: readonly string[] };

/** Every variable the sections read, once each, in the order they are declared. */
export function variablesOf<S extends Record<string, Section>>(sections: S): Array<S[keyof S]['variables'][number]> {
  return [...new Set(Object.values(sections).flatMap((each) => each.variables))];
}

/**
 * Parses every section from `env`, or throws a ConfigError naming every bad variable at once, with
 * `refused`: problems found on the environment as a whole (variables no section declares).
 */
export function parseSections<S extends Record<string, Section>>(
  env: Env,
  sections: S,
  refused: readonly string[] = [],
): { [K in keyof S]: z.output<S[K]> } {
  const values: Record<string, unknown> = {};
  const problems = new Set<string>(refused);
  for (const [key, schema] of Object.entries(sections)) {
    const parsed = schema.safeParse(env);
    if (parsed.success) values[key] = parsed.data;
    for (const issue of parsed.error?.issues ?? []) {
      problems.add(issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message);
    }
  }
  throwProblems([...problems]);
  return values as { [K in keyof S]: z.output<S[K]> };
}

export function throwProblems(problems: string[]): void {
  if (problems.length > 0) throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
}

/** Reads a file named by a variable (a certificate, a key, credentials), naming the variable if it cannot. */
export function readConfiguredFile(file: string, variable: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new Error(`${variable}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/**
 * `.env` in the working directory, when there is one (`.env.example` says to copy it there): each of
 * its variables that `env` does not already have is set, so an exported value always wins. Skipped
 * when the environment itself says NODE_ENV=production, where the deployment gives every variable
 * (docs/operations.md). A file another user could have written (owned by someone else, or writable
 * by group or others) is refused, and so are Node's own variables in it (NODE_OPTIONS,
 * NODE_TLS_REJECT_UNAUTHORIZED, …), which no configuration declares. Returns the file read, if any.
 */
export function loadDotEnv(env: Env = process.env, file = path.resolve('.env')): string | undefined {
  if (env.NODE_ENV === 'production') return undefined;
  let text: string;
  try {
    const stat = statSync(file);
    if (process.getuid && stat.uid !== process.getuid()) {
      throw new ConfigError(`${file}: owned by another user, so it is not read (remove it, or export the variables)`);
    }
    if ((stat.mode & 0o022) !== 0) {
      throw new ConfigError(`${file}: writable by group or others, so it is not read (chmod go-w ${file})`);
    }
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new ConfigError(`${file}: cannot read it (${code ?? 'error'})`);
  }
  // Node's own parser (the one --env-file uses); what is assigned, and where not, is decided here.
  const variables = Object.entries(parseEnv(text));
  const nodes = variables.map(([name]) => name).filter((name) => name.startsWith('NODE_') && name !== 'NODE_ENV');
  if (nodes.length > 0) {
    throw new ConfigError(`${file}: sets ${nodes.join(', ')}: Node's own variables are not taken from .env`);
  }
  for (const [name, value] of variables) {
    if (env[name] === undefined && value !== undefined) env[name] = value;
  }
  return file;
}

/** What `parse` reads from the environment; a configuration problem ends the process with its message. */
export function parsedOrExit<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}
