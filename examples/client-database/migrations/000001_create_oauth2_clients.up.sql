-- OAuth2 clients of the auth service: one row per client, secrets stored as bcrypt hashes.
CREATE TABLE oauth2_clients (
    client_id          VARCHAR(255) NOT NULL,
    client_secret_hash VARCHAR(255) NOT NULL,
    client_name        VARCHAR(255) NOT NULL,
    grant_types        JSON         NOT NULL,
    scopes             JSON         NOT NULL,
    redirect_uris      JSON         NOT NULL,
    is_active          BOOLEAN      NOT NULL DEFAULT TRUE,
    created_at         TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at         TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    created_by         VARCHAR(255) NULL,
    PRIMARY KEY (client_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
