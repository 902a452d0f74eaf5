-- Secret rotation (clientdb): every secret has a version and an optional expiry; a rotated-out secret moves to
-- oauth2_client_retired_secrets and keeps working until its grace period ends (expires_at, UTC text).
ALTER TABLE oauth2_clients ADD COLUMN secret_version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE oauth2_clients ADD COLUMN secret_expires_at TIMESTAMP NULL;

CREATE TABLE oauth2_client_retired_secrets (
    client_id      VARCHAR(255) NOT NULL REFERENCES oauth2_clients (client_id) ON DELETE CASCADE,
    secret_version INTEGER      NOT NULL,
    secret_hash    VARCHAR(255) NOT NULL,
    retired_at     TIMESTAMP    NOT NULL,
    expires_at     TIMESTAMP    NOT NULL,
    PRIMARY KEY (client_id, secret_version)
);
