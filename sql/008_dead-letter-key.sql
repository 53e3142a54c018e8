-- Up Migration

-- Dead letters were unique per stream sequence alone, so once the PAYMENTS stream was created again
-- (its sequences start at 1 again) every new dead letter under an old sequence was dropped
-- silently. A dead letter is now one stream message: its subject, sequence and body. A redelivered
-- message is the same three and is kept once; a new message under a reused sequence is another
-- dead letter. (An identical event at the same sequence of a new stream is the same event, kept
-- once.) Letters without a sequence (NULL key) are never merged, as before.
ALTER TABLE payment_dead_letters
  ADD COLUMN message_key text GENERATED ALWAYS AS (md5(subject || ':' || stream_seq::text || ':' || body)) STORED;
CREATE UNIQUE INDEX payment_dead_letters_message_key_idx ON payment_dead_letters (message_key);
ALTER TABLE payment_dead_letters DROP CONSTRAINT payment_dead_letters_stream_seq_key;
-- The audit and operators still look dead letters up by sequence.
CREATE INDEX payment_dead_letters_stream_seq_idx ON payment_dead_letters (stream_seq);

-- Down Migration
-- Fails while two dead letters share a sequence (after a stream was created again): resolve them first.
DROP INDEX payment_dead_letters_stream_seq_idx;
ALTER TABLE payment_dead_letters ADD CONSTRAINT payment_dead_letters_stream_seq_key UNIQUE (stream_seq);
DROP INDEX payment_dead_letters_message_key_idx;
ALTER TABLE payment_dead_letters DROP COLUMN message_key;
