"""The session cookie: what it signs comes back; anything altered, signed by another key or expired does not."""

from __future__ import annotations

import time

from splice.ui._session import Session, Signer


def test_a_signed_session_comes_back_and_an_altered_one_does_not() -> None:
    signer = Signer(b"k" * 32)
    session = Session.anonymous().signed_in("tok_1")
    value = signer.dump(session)
    back = signer.load(value)
    assert back is not None and (back.csrf, back.token_id) == (session.csrf, "tok_1")
    tampered = value[:-2] + ("AA" if value[-2:] != "AA" else "BB")
    assert signer.load(tampered) is None
    assert Signer(b"o" * 32).load(value) is None  # the secret key changed: every session ends
    assert signer.load("") is None and signer.load("garbage") is None


def test_an_expired_session_is_refused() -> None:
    signer = Signer(b"k" * 32)
    old = Session(csrf="c", token_id="tok_1", expires=time.time() - 1)
    assert signer.load(signer.dump(old)) is None
