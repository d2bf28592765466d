"""Encryption at rest for private keys and stored passwords (Fernet, key derived with HKDF)."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class SecretBoxError(ValueError):
    """Stored ciphertext could not be decrypted (wrong KEY_ENCRYPTION_KEY, or tampered)."""


class SecretBox:
    """Encrypts and decrypts small secrets with a key derived from the configured key material."""

    def __init__(self, key_material: str) -> None:
        if not key_material:
            raise ValueError("key material must not be empty")
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"lms-plugin secrets at rest"
        ).derive(key_material.encode("utf-8"))
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def encrypt(self, plaintext: bytes) -> bytes:
        return self._fernet.encrypt(plaintext)

    def decrypt(self, ciphertext: bytes) -> bytes:
        try:
            return self._fernet.decrypt(ciphertext)
        except InvalidToken:
            raise SecretBoxError(
                "cannot decrypt a stored secret: KEY_ENCRYPTION_KEY (or SECRET_KEY) changed?"
            ) from None

    def __repr__(self) -> str:
        return "SecretBox(<hidden>)"
