"""Delivery: the ledger that makes each email go once, suppression, the transports."""
