DROP TABLE oauth2_client_retired_secrets;
ALTER TABLE oauth2_clients DROP COLUMN secret_expires_at;
ALTER TABLE oauth2_clients DROP COLUMN secret_version;
