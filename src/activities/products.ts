import type { NatsConnection } from '@nats-io/nats-core';
import { z } from 'zod';
import { requestPeer } from '../nats/nest-transport';
import { FailureType, orderFailure, productsNotFoundMessage } from '../orders/errors';
import { fromMinorUnits, isExactMinorUnits, MAX_MINOR_UNITS, toMinorUnits } from '../orders/money';
import type { PricedItem, RequestedItem } from '../orders/types';
import { peerFailure } from './failures';

export interface ProductActivityDeps {
  nats: NatsConnection;
  validateProductsSubject: string;
  requestTimeoutMs: number;
}

const productsResponse = z.array(
  z.looseObject({
    id: z.union([z.string(), z.number()]),
    name: z.string(),
    price: z.number().nonnegative(),
    available: z.boolean().optional(),
  }),
);

/**
 * Why prices from the products service cannot make an exact order: a unit price, a line or the
 * total beyond the integers a number holds exactly (a price of 1e17 is 1e19 cents). Refused for
 * good, naming each product, before anything is stored; Stripe's own, lower, limits are the
 * payments service's to answer (a 422 at checkout).
 */
function amountProblems(lines: ReadonlyArray<PricedItem & { price: number }>, currency: string): string[] {
  const limit = `${fromMinorUnits(MAX_MINOR_UNITS, currency)} ${currency.toUpperCase()}`;
  const problems = lines.flatMap(({ productId, price, priceCents, quantity }) => {
    if (!isExactMinorUnits(priceCents)) {
      return [
        `Product ${productId} costs ${price} ${currency.toUpperCase()}, over the largest price an order can hold (${limit})`,
      ];
    }
    if (!isExactMinorUnits(priceCents * quantity)) {
      return [
        `Product ${productId}: ${quantity} x ${price} ${currency.toUpperCase()} is over the largest amount an order can hold (${limit})`,
      ];
    }
    return [];
  });
  if (
    problems.length === 0 &&
    !isExactMinorUnits(lines.reduce((sum, line) => sum + line.priceCents * line.quantity, 0))
  ) {
    problems.push(
      `The order's total (products ${lines.map((line) => line.productId).join(', ')}) is over the largest amount an order can hold (${limit})`,
    );
  }
  return problems;
}

export function createProductActivities({ nats, validateProductsSubject, requestTimeoutMs }: ProductActivityDeps) {
  return {
    /**
     * Asks the products service for the requested products and prices each line from its answer
     * (the caller's price is never used). Unknown or unavailable products fail without retry.
     */
    async validateProducts(
      items: RequestedItem[],
      currency = 'usd',
      timeoutMs = requestTimeoutMs,
    ): Promise<PricedItem[]> {
      const ids = items.map((item) => item.productId);
      let answer: unknown;
      try {
        answer = await requestPeer(nats, validateProductsSubject, ids, Math.min(timeoutMs, requestTimeoutMs));
      } catch (error) {
        throw peerFailure(error, FailureType.ProductsNotFound);
      }
      const parsed = productsResponse.safeParse(answer);
      if (!parsed.success) {
        throw orderFailure(
          FailureType.ServiceUnavailable,
          `${validateProductsSubject} answered with an unexpected shape`,
        );
      }
      const byId = new Map(parsed.data.filter((p) => p.available !== false).map((p) => [String(p.id), p]));
      const missing = ids.filter((id) => !byId.has(String(id)));
      if (missing.length > 0) {
        throw orderFailure(FailureType.ProductsNotFound, productsNotFoundMessage(missing));
      }
      const priced = items.map((item) => {
        const product = byId.get(String(item.productId)) as z.output<typeof productsResponse>[number];
        return {
          productId: item.productId,
          name: product.name,
          priceCents: toMinorUnits(product.price, currency),
          quantity: item.quantity,
          price: product.price,
        };
      });
      const problems = amountProblems(priced, currency);
      if (problems.length > 0) throw orderFailure(FailureType.InvalidInput, problems.join('; '));
      return priced.map(({ price: _price, ...line }) => line);
    },
  };
}
