-- Up Migration

-- A refund is only ever of a payment recorded against its order: (stripe_payment_id, order_id) of
-- a refund must be a row of payments. The worker inserts 'requested' before it publishes
-- payment.refund.requested; the gateway records the payments service's outcome ('done', with
-- Stripe's refund id, or 'failed', with Stripe's code and message). A refund already 'done' stays
-- so. `npm run audit` reports every refund owed and not done.
ALTER TABLE payments ADD CONSTRAINT payments_id_order_key UNIQUE (stripe_payment_id, order_id);

CREATE TABLE refunds (
  stripe_payment_id  text        PRIMARY KEY,
  order_id           uuid        NOT NULL,
  reason             text        NOT NULL,
  status             text        NOT NULL DEFAULT 'requested' CHECK (status IN ('requested', 'done', 'failed')),
  stripe_refund_id   text,
  failure            text,
  requested_at       timestamptz NOT NULL DEFAULT now(),
  settled_at         timestamptz,
  FOREIGN KEY (stripe_payment_id, order_id) REFERENCES payments (stripe_payment_id, order_id),
  CHECK ((status = 'requested') = (settled_at IS NULL)),
  CHECK (status <> 'failed' OR failure IS NOT NULL)
);
CREATE INDEX refunds_order_id_idx ON refunds (order_id);
CREATE INDEX refunds_owed_idx ON refunds (status) WHERE status <> 'done';

-- A dead letter stays a discrepancy for `npm run audit` until an operator resolves it, saying how:
--   UPDATE payment_dead_letters SET resolved_at = now(), resolution = 'refunded by hand: re_…'
--   WHERE id = <id>;
ALTER TABLE payment_dead_letters ADD COLUMN resolved_at timestamptz;
ALTER TABLE payment_dead_letters ADD COLUMN resolution text;
ALTER TABLE payment_dead_letters ADD CONSTRAINT payment_dead_letters_resolution_check
  CHECK ((resolved_at IS NULL) = (resolution IS NULL));

-- The runtime role's grants, as 002 gives it on every table (its default privileges apply only to
-- tables created by the role that ran 002).
GRANT SELECT, INSERT, UPDATE, DELETE ON refunds TO orders_app;

-- Down Migration
ALTER TABLE payment_dead_letters DROP CONSTRAINT payment_dead_letters_resolution_check;
ALTER TABLE payment_dead_letters DROP COLUMN resolution;
ALTER TABLE payment_dead_letters DROP COLUMN resolved_at;
DROP TABLE refunds;
ALTER TABLE payments DROP CONSTRAINT payments_id_order_key;
