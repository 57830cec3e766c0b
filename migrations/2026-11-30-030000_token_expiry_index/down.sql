DROP INDEX access_tokens_expires_at;
