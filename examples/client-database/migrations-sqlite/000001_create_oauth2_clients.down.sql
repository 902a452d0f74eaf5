DROP TABLE oauth2_clients;
