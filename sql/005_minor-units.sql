-- Up Migration

-- The *_cents columns keep their names but hold integer minor units of the order's currency, as
-- Stripe defines them: cents for USD, yen for JPY (zero-decimal), thousandths for BHD, KWD...
COMMENT ON COLUMN orders.total_cents IS 'Total in integer minor units of orders.currency (cents for USD, yen for JPY, thousandths for KWD)';
COMMENT ON COLUMN order_items.price_cents IS 'Unit price in integer minor units of the order''s currency (cents for USD, yen for JPY, thousandths for KWD)';

-- Down Migration
COMMENT ON COLUMN orders.total_cents IS NULL;
COMMENT ON COLUMN order_items.price_cents IS NULL;
