import type { DatabasePool } from '../../src/db/pool';

/** slonik's methods that send a statement, on a pool and on a transaction alike. */
const STATEMENTS = new Set([
  'any',
  'anyFirst',
  'exists',
  'many',
  'manyFirst',
  'maybeOne',
  'maybeOneFirst',
  'one',
  'oneFirst',
  'query',
]);

/**
 * `pool`, with every statement sent through it or its transactions listed in `statements` by its
 * slonik method: a round trip each (transactions add their BEGIN and COMMIT).
 */
export function countingPool(pool: DatabasePool, statements: string[]): DatabasePool {
  const counted = <T extends object>(target: T): T =>
    new Proxy(target, {
      get: (object, key) => {
        const value: unknown = Reflect.get(object, key);
        if (typeof value !== 'function') return value;
        const method = (value as (...args: unknown[]) => unknown).bind(object);
        if (key === 'transaction') {
          return (handler: (tx: object) => Promise<unknown>) =>
            (method as (inner: (tx: object) => Promise<unknown>) => Promise<unknown>)((tx) => handler(counted(tx)));
        }
        if (typeof key !== 'string' || !STATEMENTS.has(key)) return method;
        return (...args: unknown[]) => {
          statements.push(key);
          return method(...args);
        };
      },
    });
  return counted(pool);
}
