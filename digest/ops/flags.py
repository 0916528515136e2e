"""Feature flags: a condition per flag, kept in Redis, checked through a per-request cache.

A condition is one of ``everyone``, ``nobody``, ``staff``, ``superusers``, ``percent=N``
(a stable N% of signed-in people: the same person is in or out on every request) or
``people=handle1,handle2``. Every flag is declared here with its default condition; a
flag store that cannot be read falls back to the defaults, never to an error.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import redis as redis_lib

from digest.stores.keys import RedisKeys


class FlagError(ValueError):
    """An unknown flag or a malformed condition; the message says which and why."""


class Condition(StrEnum):
    EVERYONE = "everyone"
    NOBODY = "nobody"
    STAFF = "staff"
    SUPERUSERS = "superusers"
    PERCENT = "percent"
    PEOPLE = "people"


@dataclass(frozen=True)
class Rule:
    condition: Condition
    percent: int = 0
    people: frozenset[str] = frozenset()

    def __str__(self) -> str:
        if self.condition is Condition.PERCENT:
            return f"percent={self.percent}"
        if self.condition is Condition.PEOPLE:
            return "people=" + ",".join(sorted(self.people))
        return self.condition.value


@dataclass(frozen=True)
class Flag:
    name: str
    default: str  # a condition, as written on the command line
    description: str


# The flags lanyard knows. Only these can be set; the defaults apply until an operator
# sets one (and whenever Redis cannot be read).
FLAGS: dict[str, Flag] = {
    flag.name: flag
    for flag in (
        Flag("search", "everyone", "the search box and /search/ (turn off while the search cluster is upgraded)"),
        Flag("calendar_feed", "everyone", "the subscribable iCalendar feed of a person's calendar"),
        Flag("link_pasting", "everyone", "pasting a link to slides or video onto a talk or an event"),
        Flag("api", "everyone", "the JSON API under /api/v1/ (off: every API request is a 503)"),
    )
}


def parse_rule(text: str) -> Rule:
    """A condition from its text form; FlagError names what is wrong."""
    name, sep, value = text.strip().partition("=")
    try:
        condition = Condition(name.strip().lower())
    except ValueError:
        raise FlagError(
            f"unknown condition {text.strip()!r}; use everyone, nobody, staff, superusers, percent=N or people=h1,h2"
        ) from None
    if condition is Condition.PERCENT:
        try:
            percent = int(value.strip())
        except ValueError:
            raise FlagError(f"percent must be a whole number from 0 to 100, not {value.strip()!r}") from None
        if not 0 <= percent <= 100:
            raise FlagError(f"percent must be from 0 to 100, not {percent}")
        return Rule(condition, percent=percent)
    if condition is Condition.PEOPLE:
        people = frozenset(h.strip().lstrip("@").lower() for h in value.split(",") if h.strip())
        if not people:
            raise FlagError("people= needs one or more handles, e.g. people=ada,grace")
        return Rule(condition, people=people)
    if sep:
        raise FlagError(f"{condition.value} takes no value")
    return Rule(condition)


def flag_declared(name: str) -> Flag:
    try:
        return FLAGS[name]
    except KeyError:
        raise FlagError(f"unknown flag {name!r}; known: {', '.join(FLAGS)}") from None


@dataclass(frozen=True)
class Visitor:
    """Who is asking, as much as a flag needs to know."""

    person_id: int | None = None  # the signed-in person; None: anonymous (or an account without a person)
    handle: str = ""  # the person's handle, for people=
    is_staff: bool = False
    is_superuser: bool = False


ANONYMOUS = Visitor()


def rule_admits(rule: Rule, flag_name: str, visitor: Visitor) -> bool:
    condition = rule.condition
    if condition is Condition.EVERYONE:
        return True
    if condition is Condition.NOBODY:
        return False
    if condition is Condition.STAFF:
        return visitor.is_staff or visitor.is_superuser
    if condition is Condition.SUPERUSERS:
        return visitor.is_superuser
    if condition is Condition.PEOPLE:
        return visitor.handle.lower() in rule.people
    # PERCENT: a bucket from the flag and the person, so each flag takes its own slice of
    # people and a person stays in it from request to request. Anonymous visitors are out.
    if visitor.person_id is None:
        return False
    return zlib.crc32(f"{flag_name}:{visitor.person_id}".encode()) % 100 < rule.percent


def rules_from_hash(values: Mapping[Any, Any]) -> dict[str, Rule]:
    """Every declared flag's rule: what Redis holds, else the default (a bad stored value too)."""
    rules = {}
    for name, flag in FLAGS.items():
        stored = values.get(name.encode())
        try:
            rules[name] = parse_rule(stored.decode()) if stored else parse_rule(flag.default)
        except FlagError:
            rules[name] = parse_rule(flag.default)
    return rules


DEFAULT_RULES = rules_from_hash({})


UNCONDITIONAL = (Condition.EVERYONE, Condition.NOBODY)


@dataclass
class FlagSet:
    """One request's view of the flags: rules read once, each answer computed once.

    ``visitor`` may be a function making the Visitor: it is called once, and only when a
    rule depends on who is asking (so ``everyone`` flags cost no user or person query).
    """

    rules: Mapping[str, Rule]
    visitor: Visitor | Callable[[], Visitor] = ANONYMOUS
    _answers: dict[str, bool] = field(default_factory=dict)

    def active(self, name: str) -> bool:
        try:
            return self._answers[name]
        except KeyError:
            rule = self.rules.get(name)
            if rule is None:
                raise FlagError(f"unknown flag {name!r}; known: {', '.join(FLAGS)}") from None
            if rule.condition in UNCONDITIONAL:
                answer = rule.condition is Condition.EVERYONE
            else:
                if not isinstance(self.visitor, Visitor):
                    self.visitor = self.visitor()
                answer = rule_admits(rule, name, visitor=self.visitor)
            self._answers[name] = answer
            return answer

    def __getitem__(self, name: str) -> bool:
        """``{% if flags.search %}`` in templates; an unknown name is a KeyError there."""
        try:
            return self.active(name)
        except FlagError:
            raise KeyError(name) from None


def flags_read(redis: redis_lib.Redis, *, prefix: str) -> dict[str, Rule]:
    """The stored conditions; raises RedisError when Redis cannot be reached."""
    return rules_from_hash(redis.hgetall(RedisKeys(prefix).ops_flags))


def flags_get(redis: redis_lib.Redis, *, prefix: str) -> dict[str, Rule]:
    """The conditions for a request: the declared defaults when Redis cannot be reached."""
    try:
        return flags_read(redis, prefix=prefix)
    except redis_lib.RedisError:
        return dict(DEFAULT_RULES)


def flag_set(redis: redis_lib.Redis, *, prefix: str, name: str, condition: str) -> tuple[Rule, Rule]:
    """Store a flag's condition; returns (old rule, new rule). Nothing changes on bad input."""
    flag_declared(name)
    rule = parse_rule(condition)
    key = RedisKeys(prefix).ops_flags
    old = rules_from_hash({name.encode(): redis.hget(key, name) or b""})[name]
    redis.hset(key, name, str(rule))
    return old, rule
