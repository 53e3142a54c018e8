-- Up Migration

-- Why a stored order was cancelled during placement, when that is final (a checkout the payments
-- service or Stripe refused): {type, message}, the failure type and the message its caller got.
-- A repeated orders.create with the same idempotencyKey is answered with the same error.
ALTER TABLE orders ADD COLUMN rejection jsonb;

-- Down Migration
ALTER TABLE orders DROP COLUMN rejection;
