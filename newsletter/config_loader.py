"""Reading settings: config.toml and NEWSLETTER_<SECTION>_<KEY> environment variables, into dataclasses.

Generic over the frozen dataclasses of newsletter.config (a root whose fields are sections): a
field's type says how a value is read,
a field made with `secret()` may only come from the environment, a URL made with `url_field()` may
carry a password only there, and a number made with `bounded()` must lie in its range.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import math
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

ENV_PREFIX = "NEWSLETTER_"
ENV_CONFIG = "NEWSLETTER_CONFIG"  # names the config file; read by the CLI, not a setting
T = TypeVar("T", bound="DataclassInstance")
log = logging.getLogger(__name__)


class ConfigError(Exception):
    """A config file or environment value that cannot be used; the message says which and why."""


def secret(default: str = "") -> Any:
    """A field that may only come from the environment, never from config.toml."""
    return field(default=default, metadata={"secret": True})


def url_field(default: str) -> Any:
    """A URL field: config.toml may name the server, but a password in it must come from the environment."""
    return field(default=default, metadata={"url": True})


def bounded(default: float, low: float, high: float, *, above: bool = False) -> Any:
    """A number that must lie in low..high (more than `low` when `above`), checked as settings are read."""
    return field(default=default, metadata={"bounds": (low, high, above)})


def check_range(where: str, value: float, low: float, high: float, *, above: bool = False) -> None:
    """ConfigError naming `where` and the range unless `value` lies in it (more than `low` when `above`).

    NaN and the infinities are never in range: they would pass a one-sided check, then crash a run.
    An int is compared as it is: one too large for a float would overflow math.isfinite.
    """
    finite = isinstance(value, int) or math.isfinite(value)
    if finite and (low < value if above else low <= value) and value <= high:
        return
    span = f"more than {_number(low)} and at most" if above else f"between {_number(low)} and"
    got = str(value) if len(str(value)) <= 24 else f"{str(value)[:20]}..."
    raise ConfigError(f"{where}: must be {span} {_number(high)}, got {got}")


def _number(bound: float) -> str:
    return f"{bound:g}" if isinstance(bound, float) else str(bound)


def read_toml(path: Path) -> dict[str, Any]:
    """The tables of a config file; ConfigError when it is missing, unreadable or not TOML."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None


def build_settings(root: type[T], data: dict[str, Any], environ: Mapping[str, str]) -> T:
    """`root` (a dataclass of section dataclasses) from the file's tables, the environment winning.

    An unknown section or key in the file is an error; a NEWSLETTER_ variable that sets nothing
    gets a warning naming the closest real one.
    """
    sections = {f.name: f for f in dataclasses.fields(root)}
    unknown = set(data) - set(sections)
    if unknown:
        first = sorted(unknown)[0]
        if not isinstance(data[first], dict):  # a key written above every [section] header
            raise ConfigError(f"{first} = ... comes before any [section]: put it under its section")
        raise ConfigError(f"unknown config section [{first}]{_did_you_mean(first, sections, '[{}]')}")
    hints = typing.get_type_hints(root)
    built: dict[str, Any] = {}
    known = {ENV_CONFIG}
    for name in sections:
        cls = hints[name]
        table = data.get(name, {})
        if not isinstance(table, dict):
            raise ConfigError(f"[{name}] must be a table")
        built[name] = build_section(name, cls, table, environ)
        known.update(env_name(name, f.name) for f in dataclasses.fields(cls))
    for line in unknown_env(environ, known):
        log.warning("config: %s", line)
    settings = root(**built)
    # Rules that tie two sections together, checked once every section is read.
    validate = getattr(settings, "validate", None)
    if validate is not None:
        validate()
    return settings


def env_name(section: str, key: str) -> str:
    """The environment variable that sets `key` of `section`: NEWSLETTER_<SECTION>_<KEY>."""
    return f"{ENV_PREFIX}{section.upper()}_{key.upper()}"


def unknown_env(environ: Mapping[str, str], known: set[str]) -> list[str]:
    """What to say of each NEWSLETTER_ variable that sets nothing, with the closest real name.

    A mistyped secret (NEWSLETTER_SMTP_PASSWROD) would otherwise be ignored without a word.
    NEWSLETTER_TEST_* is left to the test suite.
    """
    lines = []
    # Compared without the prefix, which every name shares and would make all names look close.
    suffixes = [k.removeprefix(ENV_PREFIX) for k in sorted(known)]
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or name in known or name.startswith(f"{ENV_PREFIX}TEST_"):
            continue
        hint = _did_you_mean(name.removeprefix(ENV_PREFIX), suffixes, ENV_PREFIX + "{}")
        lines.append(f"{name} matches no setting and is ignored{hint}")
    return lines


def _did_you_mean(name: str, choices: Iterable[str], form: str) -> str:
    """ " (did you mean X?)" with the closest of `choices` to a mistyped `name`, or ""."""
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {form.format(close[0])}?)" if close else ""


def build_section(name: str, cls: type[Any], table: dict[str, Any], environ: Mapping[str, str]) -> Any:
    """One section: the dataclass `cls` filled from `table`, the environment winning."""
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    extra = set(table) - set(known)
    if extra:
        first = sorted(extra)[0]
        raise ConfigError(f"[{name}] has no key {first!r}{_did_you_mean(first, known, '{!r}')}")
    values: dict[str, Any] = {}
    for key, fld in known.items():
        where = f"{name}.{key}"
        variable = env_name(name, key)
        if fld.metadata.get("secret") and key in table:
            raise ConfigError(f"{where} is a secret: set it with the environment variable {variable}")
        if variable in environ:
            values[key] = _from_env(variable, environ[variable], hints[key])
        elif key in table:
            values[key] = _from_toml(where, table[key], hints[key])
            if fld.metadata.get("url") and _password_in(values[key]):
                raise ConfigError(f"{where} carries a password: set the whole URL with {variable} instead")
    section = cls(**values)
    for key, fld in known.items():
        if "bounds" in fld.metadata:
            low, high, above = fld.metadata["bounds"]
            check_range(f"{name}.{key}", getattr(section, key), low, high, above=above)
    validate = getattr(section, "validate", None)
    if validate is not None:
        validate()
    return section


def _password_in(value: Any) -> bool:
    try:
        return bool(urlsplit(str(value)).password)
    except ValueError:  # a malformed URL: its own check says what is wrong with it
        return False


def _base_type(hint: Any) -> tuple[Any, bool]:
    """The concrete type of a field and whether it may be None."""
    args = typing.get_args(hint)
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        concrete = [a for a in args if a is not type(None)]
        return concrete[0], True
    return hint, False


def _from_toml(where: str, value: Any, hint: Any) -> Any:
    kind, _optional = _base_type(hint)
    if typing.get_origin(kind) is tuple:
        # Numbers are welcome where the strings are numbers: retry_minutes = [1, 5] reads as ["1", "5"].
        if not isinstance(value, list):  # retry_minutes = 5: a list of one is written [5]
            raise ConfigError(f"{where}: expected a list in brackets, got {value!r}")
        if not all(
            isinstance(v, str) or (isinstance(v, int | float) and not isinstance(v, bool)) for v in value
        ):
            raise ConfigError(f"{where}: expected a list of words or numbers, got {value!r}")
        return tuple(str(v) for v in value)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is bool and not isinstance(value, bool):
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if kind is not bool and isinstance(value, bool):
        raise ConfigError(f"{where}: expected {kind.__name__}, got {value!r}")
    if not isinstance(value, kind):
        raise ConfigError(f"{where}: expected {kind.__name__}, got {value!r}")
    return value


def _from_env(name: str, raw: str, hint: Any) -> Any:
    kind, optional = _base_type(hint)
    text = raw.strip()
    if optional and text == "":
        return None
    try:
        if typing.get_origin(kind) is tuple:
            return tuple(part.strip() for part in text.split(",") if part.strip())
        if kind is bool:
            lowered = text.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
    except ValueError:
        raise ConfigError(f"{name}: cannot read {raw!r} as {getattr(kind, '__name__', kind)}") from None
    return raw
