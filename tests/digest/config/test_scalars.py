import ipaddress

import pytest

from digest.config import ConfigError
from digest.config.scalars import parse_bool, parse_choice, parse_int, parse_networks, parse_seconds


@pytest.mark.parametrize(
    ("parse", "says"),
    [
        (lambda: parse_int("V", "ten", low=1, high=5), "'ten' is not a whole number"),
        (lambda: parse_int("V", "9", low=1, high=5), "must be between 1 and 5, not 9"),
        (lambda: parse_seconds("V", "0"), "must be between 0 and 600 seconds, not 0"),
        (lambda: parse_seconds("V", "soon"), "'soon' is not a number of seconds"),
        (lambda: parse_networks("10.0.0.0/33", variable="V"),
         "'10.0.0.0/33' is not a network (e.g. 10.20.0.0/16 or 192.0.2.7)"),
        (lambda: parse_bool("V", "starttls", "maybe"), "starttls must be true or false, not 'maybe'"),
        (lambda: parse_choice("V", "XML", ("console", "json")), "must be one of console, json, not 'xml'"),
    ],
)
def test_bad_values_are_one_line_naming_the_variable(parse, says):
    with pytest.raises(ConfigError) as raised:
        parse()
    assert str(raised.value) == f"V: {says}"


def test_good_values_are_parsed():
    assert parse_int("V", "7", low=1, high=10) == 7
    assert parse_seconds("V", "2.5") == 2.5
    expected = (ipaddress.ip_network("10.1.2.3/32"), ipaddress.ip_network("::1/128"))
    assert parse_networks(" 10.1.2.3 , ,::1/128") == expected
    assert parse_bool("V", "o", "On") is True and parse_bool("V", "o", "0") is False
    assert parse_choice("V", "JSON", ("console", "json")) == "json"
