-- OAuth2 clients of the auth service: one row per client, secrets stored as bcrypt hashes.
-- The SQLite form of migrations/ (MySQL): JSON lists as checked TEXT, timestamps as UTC text
-- (CURRENT_TIMESTAMP), and a trigger for MySQL's ON UPDATE CURRENT_TIMESTAMP.
CREATE TABLE oauth2_clients (
    client_id          VARCHAR(255) NOT NULL PRIMARY KEY,
    client_secret_hash VARCHAR(255) NOT NULL,
    client_name        VARCHAR(255) NOT NULL,
    grant_types        TEXT         NOT NULL CHECK (json_valid(grant_types)),
    scopes             TEXT         NOT NULL CHECK (json_valid(scopes)),
    redirect_uris      TEXT         NOT NULL CHECK (json_valid(redirect_uris)),
    is_active          BOOLEAN      NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_at         TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at         TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    created_by         VARCHAR(255) NULL
);

CREATE TRIGGER oauth2_clients_updated_at
    AFTER UPDATE ON oauth2_clients
    FOR EACH ROW WHEN NEW.updated_at = OLD.updated_at
BEGIN
    UPDATE oauth2_clients SET updated_at = CURRENT_TIMESTAMP WHERE client_id = NEW.client_id;
END;
