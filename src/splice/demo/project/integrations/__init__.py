"""Demo integrations: the same Acme CRM API reached with each of splice's auth schemes."""
