"""Envelope tools: diff and validate (and, elsewhere, capture and sample generation)."""
