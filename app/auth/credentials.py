"""Password hashing (argon2id) and API key generation; keys are stored only as SHA-256."""

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
API_KEY_PREFIX = "gw_"


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_api_key() -> str:
    """A random key shown once; 32 bytes of entropy, URL-safe."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    # API keys are high-entropy, so a fast hash is enough (and lookups stay O(1)).
    return hashlib.sha256(key.encode()).hexdigest()


def new_password() -> str:
    return secrets.token_urlsafe(12)
