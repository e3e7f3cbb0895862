"""Thin Chalice blueprints: parse the input, call one logic function, return a model."""
