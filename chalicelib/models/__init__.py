"""Pydantic models: REST requests and responses, the WebSocket protocol, domain types."""
