"""The schema of the harness's CSVs: docs/columns.json, made from the Swift column registry by
`bench columns --update-docs docs`. Nothing here imports matplotlib."""

import json
from pathlib import Path
from typing import NamedTuple

# scripts/populateplot/schema.py -> the repository root
ROOT = Path(__file__).resolve().parent.parent.parent
PATH = ROOT / "docs" / "columns.json"

# Tables that docs/columns.json lists as another table's columns followed by their own
# ("bench qemu --out: the raw columns, then these"); load() checks the text still says so.
EXTENDS = {"qemu": ("raw", "the raw columns"), "watch": ("samples", "the samples' columns")}
KINDS = ("run", "identity", "outcome", "measure", "context", "statistic")


class SchemaError(Exception):
    """docs/columns.json is missing, unreadable or not shaped as expected."""


class Column(NamedTuple):
    name: str
    kind: str
    unit: str
    contract: bool
    description: str


class Table:
    """One CSV's columns in file order: its base table's (if it extends one), then its own."""

    def __init__(self, name, file, own, base=None):
        self.name, self.file, self.own = name, file, own
        self.columns = (base.columns if base else []) + own
        self.by_name = {c.name: c for c in self.columns}

    def __contains__(self, name):
        return name in self.by_name

    def __getitem__(self, name):
        return self.by_name[name]

    def names(self, kind=None):
        """The column names in file order, only those of kind when given."""
        return [c.name for c in self.columns if kind is None or c.kind == kind]

    def unit(self, name):
        return self.by_name[name].unit


class Schema:
    def __init__(self, tables, path, strategies=(), backends=()):
        self.tables, self.path = tables, path
        # The values of the strategy and backend columns in the harness's own order (its declarations).
        self.strategies, self.backends = list(strategies), list(backends)

    def __getitem__(self, name):
        try:
            return self.tables[name]
        except KeyError:
            raise SchemaError(f"{self.path}: no table '{name}' (it has {', '.join(self.tables)})")

    def configuration(self):
        """The raw columns the summary CSV groups repetitions by: its identity columns (a configuration,
        its strategy and phase, the host and kernel)."""
        raw = self["raw"]
        return [n for n in self["summary"].names("identity") if n in raw]

    def identify(self, header):
        """The table whose columns a CSV header matches best (None if it shares none)."""
        scores = {name: len(set(header) & set(t.by_name)) - len(set(t.by_name) - set(header)) / 1000
                  for name, t in self.tables.items()}
        best = max(scores, key=scores.get)
        return self.tables[best] if scores[best] > 0 else None


def load(path=PATH):
    """The schema at path (docs/columns.json by default); SchemaError if it cannot be used."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise SchemaError(f"{path}: no such file (bench columns --update-docs docs writes it)")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SchemaError(f"{path}: cannot read: {e}")
    try:
        raw_tables = {t["name"]: t for t in data["tables"]}
        own = {name: [Column(c["name"], c["kind"], c["unit"], bool(c["contract"]), c.get("description", ""))
                      for c in t["columns"]] for name, t in raw_tables.items()}
        strategies = [s["name"] for s in data["strategies"]]
        backends = [b["name"] for b in data["backends"]]
    except (KeyError, TypeError) as e:
        raise SchemaError(f"{path}: not a column schema ({{\"tables\": [{{\"name\", \"file\", \"columns\"}}], "
                          f"\"strategies\", \"backends\"}}): {e}")
    tables = {}
    for name, t in raw_tables.items():
        base = None
        if name in EXTENDS:
            base_name, phrase = EXTENDS[name]
            if base_name not in raw_tables or phrase not in t.get("file", ""):
                raise SchemaError(f"{path}: table {name} no longer says it holds {phrase} "
                                  f"(populateplot/schema.py's EXTENDS needs updating)")
            base = Table(base_name, raw_tables[base_name].get("file", ""), own[base_name])
        tables[name] = Table(name, t.get("file", ""), own[name], base)
    return Schema(tables, path, strategies, backends)


def problems(schema):
    """Lines naming kinds in the schema this package does not know, or a configuration it cannot find."""
    lines = [f"{table.name}.{c.name}: kind '{c.kind}' is unknown to populateplot/schema.py"
             for table in schema.tables.values() for c in table.own if c.kind not in KINDS]
    if not schema.configuration():
        lines.append("the summary table has no identity columns of the raw table (a configuration)")
    return lines
