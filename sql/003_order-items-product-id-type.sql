-- Up Migration

-- A product id comes back exactly as it was sent: the JSON type it came as is kept next to its
-- text, so "7" stays a string and 7 a number. NULL (rows written before this column) means the old
-- rule: integer-looking ids are numbers.
ALTER TABLE order_items
  ADD COLUMN product_id_type text CHECK (product_id_type IN ('string', 'number'));

-- Down Migration
ALTER TABLE order_items DROP COLUMN product_id_type;
