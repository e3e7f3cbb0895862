"""userdb's Lambda code: everything Chalice ships."""
