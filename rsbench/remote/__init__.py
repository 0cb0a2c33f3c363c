"""Clients for models served over HTTP: the OpenAI-compatible endpoint client captioners and text encoders share."""
