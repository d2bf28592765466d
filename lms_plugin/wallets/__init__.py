"""Learners pick up their credentials into wallets: OpenID4VCI and the VC-API exchange."""
