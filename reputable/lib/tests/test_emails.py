"""Email addresses: the quick check for plain addresses never takes what Django's refuses."""

import pytest
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from hypothesis import given
from hypothesis import strategies as st

from reputable.lib.emails import PLAIN_EMAIL, normalise_address

addresses = st.one_of(
    st.emails().map(str.lower),
    st.text(alphabet="abc.-_@+!#1xyz\"' ", min_size=1, max_size=30),
    st.from_regex(r"[a-z.]{1,8}@[a-z.-]{1,12}", fullmatch=True),
)


@given(addresses)
def test_what_the_quick_check_takes_django_takes_too(address: str) -> None:
    if PLAIN_EMAIL.fullmatch(address):
        validate_email(address)  # raises if the quick check were looser


@pytest.mark.parametrize(
    "address", ["a..b@example.com", ".a@example.com", "a@-example.com", "a@example", "a@b@c.de", ""]
)
def test_malformed_addresses_are_refused(address: str) -> None:
    with pytest.raises(ValueError):
        normalise_address(address)


@pytest.mark.parametrize("address", ["user@[127.0.0.1]", "Jan@Example.NL ", "anna@xn--bcher-kva.example"])
def test_unusual_but_valid_addresses_are_taken(address: str) -> None:
    assert normalise_address(address) == address.strip().lower()
    with pytest.raises(ValidationError):
        validate_email("not an address")
