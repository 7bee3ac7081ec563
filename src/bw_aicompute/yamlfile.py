"""The one YAML reader for every file a user gives the tool (campaign, serving, grid scenario and
SLURM rules files): PyYAML's safe loader (its libyaml parser where installed, PyYAML's own for
the message of any error), bounded in size, aliases, nesting and values, and refusing a key
given twice in one mapping (PyYAML keeps the last one silently), with the line.

A refusal is an `AicomputeError` naming the file and the line; nothing else is raised.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import AicomputeError, quote

MAX_FILE_BYTES = 10_000_000  # a campaign file
MAX_ALIASES = 100  # YAML aliases (*name) in one file
MAX_DEPTH = 20  # nesting of lists and mappings
MAX_ELEMENTS = 1_000_000  # values, counting each use of an alias


class DuplicateKey(yaml.YAMLError):
    """A key given twice in one mapping."""

    def __init__(self, key: Any, first: int, mark):
        self.problem = f"key {quote(key)} given twice in one mapping (first on line {first + 1}); keep one"
        self.problem_mark = mark
        super().__init__(self.problem)


class _Constructors:
    """The constructors of both loaders: dates YAML cannot build stay text; a key given twice
    in one mapping is refused."""

    def construct_yaml_timestamp(self, node):
        """A date YAML cannot build (`2024-13-01`, `0000-01-01`) stays text, for the field's
        own reader to refuse with the field's name."""
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError):
            return self.construct_scalar(node)

    def resolve(self, kind, value, implicit):
        """PyYAML's tag of a node, remembered per scalar text (a 10,000-phase campaign repeats
        a few hundred texts 100,000 times)."""
        if kind is not yaml.ScalarNode or self.yaml_path_resolvers:
            return super().resolve(kind, value, implicit)
        memo = self.__dict__.setdefault("_tags", {})
        key = (value, implicit)
        if key not in memo:
            memo[key] = super().resolve(kind, value, implicit)
        return memo[key]

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            keys = [k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode) and k.tag == "tag:yaml.org,2002:str"]
            if len(keys) == len(node.value) and len(set(keys)) == len(keys):
                return super().construct_mapping(node, deep=deep)  # text keys, all different
            seen: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    hash(key)
                except TypeError:
                    continue  # PyYAML refuses an unhashable key itself
                if key in seen:
                    raise DuplicateKey(key, seen[key], key_node.start_mark)
                seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


class _BoundedLoader(_Constructors, yaml.SafeLoader):
    """PyYAML's safe loader refusing more than MAX_ALIASES aliases, nesting deeper than
    MAX_DEPTH while composing (before recursion), and duplicate keys."""

    def __init__(self, stream):
        super().__init__(stream)
        self.aliases = 0
        self.depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise yaml.YAMLError(f"more than {MAX_ALIASES} aliases")
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH + 1:
                raise yaml.YAMLError(f"nested more than {MAX_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


_BoundedLoader.add_constructor("tag:yaml.org,2002:timestamp", _BoundedLoader.construct_yaml_timestamp)

if yaml.__with_libyaml__:

    class _FastLoader(_Constructors, yaml.CSafeLoader):
        """libyaml's parser and composer with the constructors of `_BoundedLoader` (duplicate
        keys, dates); the aliases and the nesting are bounded by `_check_events` first."""

    _FastLoader.add_constructor("tag:yaml.org,2002:timestamp", _FastLoader.construct_yaml_timestamp)
else:  # pragma: no cover - PyYAML without libyaml
    _FastLoader = None


def _check_events(text: str) -> None:
    """Refuse more than MAX_ALIASES aliases or nesting deeper than MAX_DEPTH, from libyaml's
    events (before any node is built)."""
    aliases = depth = 0
    for event in yaml.parse(text, Loader=yaml.CSafeLoader):
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise yaml.YAMLError(f"more than {MAX_ALIASES} aliases")
        elif isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise yaml.YAMLError(f"nested more than {MAX_DEPTH} levels deep")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _load(text: str) -> Any:
    """The document of `text`: libyaml where PyYAML has it (10x faster on a 10,000-phase
    campaign), PyYAML's own parser for any error, so that every message is PyYAML's."""
    if _FastLoader is not None:
        try:
            _check_events(text)
            return yaml.load(text, Loader=_FastLoader)
        except (yaml.YAMLError, RecursionError, ValueError):
            pass
    return yaml.load(text, Loader=_BoundedLoader)


def load_data(text: str) -> Any:
    """A YAML document shipped with the package (inventories, methods, rules): trusted, read
    with libyaml's safe loader where PyYAML has it (5 to 10x PyYAML's own parser)."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def cache_dir() -> Path:
    """The package's own cache folder: `$XDG_CACHE_HOME/bw_aicompute` (`~/.cache/...`)."""
    import os

    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "bw_aicompute"


def load_data_file(path: Path) -> Any:
    """`load_data` of a shipped file, from a JSON copy of its document when one was made for
    these exact bytes (SHA-256; json reads it 10-20x faster than libyaml builds it: 0.2 s of
    every command for the inventory files). A copy is made only when JSON gives back the same
    document (no dates, only text keys) and the cache folder is writable; otherwise, and for
    any unreadable copy, the YAML is read."""
    import hashlib
    import json
    import os
    import tempfile

    raw = path.read_bytes()
    copy = cache_dir() / f"{path.stem}-{hashlib.sha256(raw).hexdigest()[:32]}.json"
    try:
        return json.loads(copy.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    doc = load_data(raw.decode("utf-8"))
    try:
        text = json.dumps(doc, allow_nan=False)
        if json.loads(text) != doc:
            return doc
        copy.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=copy.parent, suffix=".tmp")
    except (OSError, TypeError, ValueError):
        return doc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, copy)  # whole or not at all
        for old in copy.parent.glob(f"{path.stem}-*.json"):  # the copies of earlier versions
            if old != copy:
                old.unlink(missing_ok=True)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
    return doc


def check_size(doc: Any, path: Path, what: str = "campaign file") -> None:
    """Refuse documents nested deeper than MAX_DEPTH or with more than MAX_ELEMENTS values
    (aliases expanded: a 'billion laughs' file is refused before it is used)."""
    stack, count = [(doc, 0)], 0
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > MAX_ELEMENTS:
            raise AicomputeError(f"{path}: more than {MAX_ELEMENTS:,} values (aliases expanded); not a {what}")
        if depth > MAX_DEPTH:
            raise AicomputeError(f"{path}: nested more than {MAX_DEPTH} levels deep; not a {what}")
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        stack.extend((child, depth + 1) for child in children)


def load_yaml(path: str | Path, what: str = "campaign file") -> Any:
    """Read the YAML file `path` given by the user.

    Parameters
    ----------
    path : str or Path
        The file.
    what : str
        What the file is, for messages (`"grid scenario file"`).

    Returns
    -------
    object
        The document (mappings, lists, scalars).

    Raises
    ------
    AicomputeError
        `FILE: line L, column C: not valid YAML (problem)` for a syntax error, a key given
        twice, too many aliases or too deep a nesting; or the file is missing, not text,
        larger than MAX_FILE_BYTES or expands to more than MAX_ELEMENTS values.
    """
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise AicomputeError(f"{path}: larger than {MAX_FILE_BYTES:,} bytes; not a {what}")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = "not a text file" if isinstance(exc, UnicodeDecodeError) else f"cannot be read ({exc.strerror or exc})"
        raise AicomputeError(f"{path}: {reason}") from None
    try:
        doc = _load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark else ""
        raise AicomputeError(f"{path}:{where} not valid YAML ({quote(getattr(exc, 'problem', None) or str(exc))[1:-1]})") from None
    except RecursionError:
        raise AicomputeError(f"{path}: nested too deeply; not a {what}") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise AicomputeError(f"{path}: a value cannot be read ({quote(str(exc))[1:-1]})") from None
    check_size(doc, path, what)
    return doc
