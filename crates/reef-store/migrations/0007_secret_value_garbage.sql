-- Copies of secret values kept outside the database (in Vault) that nothing refers to any
-- more, waiting to be deleted there. A reference is recorded here in the same transaction
-- that stops using it, so a copy is never forgotten, whenever the process doing it stops.
CREATE TABLE secret_value_garbage (
    stored      TEXT PRIMARY KEY,
    recorded_at BIGINT NOT NULL
);
