-- Secret rotation (clientdb): every secret has a version and an optional expiry; a rotated-out secret moves to
-- oauth2_client_retired_secrets and keeps working until its grace period ends (expires_at).
ALTER TABLE oauth2_clients
    ADD COLUMN secret_version    BIGINT      NOT NULL DEFAULT 1,
    ADD COLUMN secret_expires_at TIMESTAMPTZ NULL;

CREATE TABLE oauth2_client_retired_secrets (
    client_id      VARCHAR(255) NOT NULL,
    secret_version BIGINT       NOT NULL,
    secret_hash    VARCHAR(255) NOT NULL,
    retired_at     TIMESTAMPTZ  NOT NULL,
    expires_at     TIMESTAMPTZ  NOT NULL,
    CONSTRAINT oauth2_client_retired_secrets_pkey PRIMARY KEY (client_id, secret_version),
    CONSTRAINT oauth2_client_retired_secrets_client_fkey FOREIGN KEY (client_id)
        REFERENCES oauth2_clients (client_id) ON DELETE CASCADE
);
