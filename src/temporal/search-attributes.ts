import type { NativeConnection } from '@temporalio/worker';
import { ORDER_SEARCH_ATTRIBUTES } from '../orders/workflow-api';

type AttributeKey = (typeof ORDER_SEARCH_ATTRIBUTES)[number];

/**
 * Every order upserts these search attributes. In a namespace that lacks one, the upsert fails the
 * order's workflow task again and again and the order stalls; so the worker checks at start, and a
 * deploy to an unprepared namespace stops at once, naming what to register.
 *
 * Resolves to the missing attributes, or to null when the namespace cannot be asked (an API key
 * without operator rights, say): the caller then carries on and says so.
 */
export async function missingSearchAttributes(
  connection: NativeConnection,
  namespace: string,
): Promise<AttributeKey[] | null> {
  let registered: Record<string, unknown>;
  try {
    const answer = await connection.operatorService.listSearchAttributes({ namespace });
    registered = { ...answer.customAttributes, ...answer.systemAttributes };
  } catch {
    return null;
  }
  return ORDER_SEARCH_ATTRIBUTES.filter((key) => !(key.name in registered));
}

/** The error a worker stops with, with the commands that register what is missing. */
export function missingSearchAttributesError(namespace: string, missing: readonly AttributeKey[]): Error {
  // The CLI spells types in CamelCase: KEYWORD is Keyword.
  const cliType = (type: string): string => type.charAt(0) + type.slice(1).toLowerCase();
  const commands = missing.map(
    (key) =>
      `temporal operator search-attribute create --namespace ${namespace} --name ${key.name} --type ${cliType(key.type)}`,
  );
  return new Error(
    `namespace ${namespace} lacks the search attributes ${missing.map((key) => key.name).join(', ')} that every order sets; ` +
      `register them first: ${commands.join('; ')}`,
  );
}
