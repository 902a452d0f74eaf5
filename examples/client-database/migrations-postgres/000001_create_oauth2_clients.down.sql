DROP TABLE oauth2_clients;
DROP FUNCTION oauth2_clients_set_updated_at();
