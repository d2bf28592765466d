"""xAPI learning records: statement builders, transactional outbox, delivery worker, LRS client.

Nothing in this package imports Flask.
"""
