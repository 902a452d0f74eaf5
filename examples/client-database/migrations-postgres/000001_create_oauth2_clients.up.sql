-- OAuth2 clients of the auth service: one row per client, secrets stored as bcrypt hashes.
-- The PostgreSQL form of migrations/ (MySQL): JSONB for the JSON lists, TIMESTAMPTZ for MySQL's TIMESTAMP,
-- and a trigger for MySQL's ON UPDATE CURRENT_TIMESTAMP.
CREATE TABLE oauth2_clients (
    client_id          VARCHAR(255) NOT NULL,
    client_secret_hash VARCHAR(255) NOT NULL,
    client_name        VARCHAR(255) NOT NULL,
    grant_types        JSONB        NOT NULL,
    scopes             JSONB        NOT NULL,
    redirect_uris      JSONB        NOT NULL,
    is_active          BOOLEAN      NOT NULL DEFAULT TRUE,
    created_at         TIMESTAMPTZ  NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at         TIMESTAMPTZ  NOT NULL DEFAULT CURRENT_TIMESTAMP,
    created_by         VARCHAR(255) NULL,
    CONSTRAINT oauth2_clients_pkey PRIMARY KEY (client_id)
);

CREATE FUNCTION oauth2_clients_set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := CURRENT_TIMESTAMP;
    RETURN NEW;
END;
$$;

CREATE TRIGGER oauth2_clients_updated_at
    BEFORE UPDATE ON oauth2_clients
    FOR EACH ROW EXECUTE FUNCTION oauth2_clients_set_updated_at();
