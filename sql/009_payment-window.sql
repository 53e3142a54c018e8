-- Up Migration

-- When a PENDING order's payment window ends, on its workflow's clock (written with its checkout).
-- An order keeps no timer for its window: the gateway finds the orders whose window has ended here
-- and signals their workflows, which end the window when their own clock agrees. NULL: no window
-- to end (no checkout, an order placed before this column, or one whose complete checkout's
-- payment is awaited however late).
ALTER TABLE orders
  ADD COLUMN payment_window_ends_at timestamptz,
  -- When the gateway last signalled the order's workflow that its window has ended.
  ADD COLUMN payment_window_signalled_at timestamptz;
CREATE INDEX orders_payment_window_ends_at_idx ON orders (payment_window_ends_at)
  WHERE status = 'PENDING' AND payment_window_ends_at IS NOT NULL;

-- Down Migration
DROP INDEX orders_payment_window_ends_at_idx;
ALTER TABLE orders DROP COLUMN payment_window_signalled_at, DROP COLUMN payment_window_ends_at;
