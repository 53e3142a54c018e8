-- Up Migration

-- A payment counts only when it is the order's own. The amount (integer minor units, as Stripe
-- reports it) and currency it carried, when it carried them, are kept with it; a payment whose
-- amount or currency is not the order's is recorded as MISMATCH (the order is not paid, the money
-- is refunded) with why in `detail`.
ALTER TABLE payments ADD COLUMN amount bigint CHECK (amount >= 0);
ALTER TABLE payments ADD COLUMN currency text CHECK (currency ~ '^[a-z]{3}$');
ALTER TABLE payments ADD COLUMN detail text;
ALTER TABLE payments DROP CONSTRAINT payments_outcome_check;
ALTER TABLE payments ADD CONSTRAINT payments_outcome_check
  CHECK (outcome IN ('APPLIED', 'REFUND_REQUESTED', 'MISMATCH'));

-- Down Migration
-- A mismatched payment is still money to refund.
UPDATE payments SET outcome = 'REFUND_REQUESTED' WHERE outcome = 'MISMATCH';
ALTER TABLE payments DROP CONSTRAINT payments_outcome_check;
ALTER TABLE payments ADD CONSTRAINT payments_outcome_check CHECK (outcome IN ('APPLIED', 'REFUND_REQUESTED'));
ALTER TABLE payments DROP COLUMN detail;
ALTER TABLE payments DROP COLUMN currency;
ALTER TABLE payments DROP COLUMN amount;
