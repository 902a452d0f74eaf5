-- Secret rotation (clientdb): every secret has a version and an optional expiry; a rotated-out secret moves to
-- oauth2_client_retired_secrets and keeps working until its grace period ends (expires_at, UTC).
-- DATETIME(6) rather than TIMESTAMP: expiries may lie past 2038 and need no implicit defaults.
ALTER TABLE oauth2_clients
    ADD COLUMN secret_version    BIGINT      NOT NULL DEFAULT 1 AFTER client_secret_hash,
    ADD COLUMN secret_expires_at DATETIME(6) NULL DEFAULT NULL AFTER secret_version;

CREATE TABLE oauth2_client_retired_secrets (
    client_id      VARCHAR(255) NOT NULL,
    secret_version BIGINT       NOT NULL,
    secret_hash    VARCHAR(255) NOT NULL,
    retired_at     DATETIME(6)  NOT NULL,
    expires_at     DATETIME(6)  NOT NULL,
    PRIMARY KEY (client_id, secret_version),
    CONSTRAINT fk_oauth2_client_retired_secrets_client FOREIGN KEY (client_id)
        REFERENCES oauth2_clients (client_id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
