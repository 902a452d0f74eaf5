-- The auth service only ever looks up active clients.
CREATE INDEX idx_oauth2_clients_is_active ON oauth2_clients (is_active);
