"""The signed return path of each digest: ``bounces+<token>@<bounce domain>`` (VERP).

The token (``digest/tokens.py``, :class:`~digest.tokens.ReturnPathSigner`) names the
delivery, so a bounce sent back to this address says which delivery failed, and
nothing is stored per message. The local part stays within RFC 5321's 64 characters.
"""

from __future__ import annotations

from dataclasses import dataclass

from digest.tokens import DeliveryRef, ReturnPathSigner, TokenError

LOCAL_PREFIX = "bounces+"


@dataclass(frozen=True, slots=True)
class ReturnPath:
    """Builds and reads the return paths of one bounce domain."""

    signer: ReturnPathSigner
    domain: str

    def address(self, ref: DeliveryRef) -> str:
        return f"{LOCAL_PREFIX}{self.signer.sign(ref)}@{self.domain}"

    def is_ours(self, address: str) -> bool:
        """An address at the bounce domain with the return path's prefix (signed or not)."""
        local, _, domain = address.lower().rpartition("@")
        return domain == self.domain and local.startswith(LOCAL_PREFIX)

    def verify(self, address: str) -> DeliveryRef:
        """The delivery an address of ours names; :class:`~digest.tokens.TokenError` when forged."""
        if not self.is_ours(address):
            raise TokenError("not a return path of this bounce domain")
        local = address.rpartition("@")[0]
        return self.signer.verify(local[len(LOCAL_PREFIX):])
