import type { NatsConnection } from 'nats';
import { z } from 'zod';
import { requestPeer } from '../nats/nest-transport';
import { FailureType, orderFailure, productsNotFoundMessage } from '../orders/errors';
import { toMinorUnits } from '../orders/money';
import type { PricedItem, RequestedItem } from '../orders/types';
import { peerFailure } from './failures';

export interface ProductActivityDeps {
  nats: NatsConnection;
  validateProductsSubject: string;
  requestTimeoutMs: number;
}

const productsResponse = z.array(
  z
    .object({
      id: z.union([z.string(), z.number()]),
      name: z.string(),
      price: z.number().nonnegative(),
      available: z.boolean().optional(),
    })
    .passthrough(),
);

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
      return items.map((item) => {
        const product = byId.get(String(item.productId)) as z.infer<typeof productsResponse>[number];
        return {
          productId: item.productId,
          name: product.name,
          priceCents: toMinorUnits(product.price, currency),
          quantity: item.quantity,
        };
      });
    },
  };
}
