-- The media URL signing key now derives from the server's secret key
-- (--secret-key-file / CLAWPOST_SECRET_KEY), never kept in a table.
DROP TABLE server_secrets;
