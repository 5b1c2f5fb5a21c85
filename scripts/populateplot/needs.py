"""Which columns each chart and loader reads, declared next to the code that reads them, so that
`plot.py --check-schema` can check every name against docs/columns.json and the loader knows which
columns a CSV must have. Nothing here imports matplotlib."""

from typing import NamedTuple


class Needs(NamedTuple):
    """What one chart (or loader) reads, per table of docs/columns.json: required columns the CSV
    must have (with a value in every row read), blank ones it must have but whose values may be
    empty, optional ones it may lack altogether (older CSVs); units: {column: units it can draw}."""
    owner: str
    required: dict
    blank: dict
    optional: dict
    units: dict

    def names(self):
        """(table, column) pairs in declaration order."""
        return [(t, n) for part in (self.required, self.blank, self.optional) for t, ns in part.items() for n in ns]


REGISTRY = {}  # owner -> Needs, in the order the modules declared them


def _tuples(mapping):
    return {table: tuple(names) for table, names in (mapping or {}).items()}


def declare(owner, *, blank=None, optional=None, units=None, **required):
    """Record what owner reads: declare("memory", raw=("pte_bytes", ...), blank={"raw": (...)},
    units={"pte_bytes": ("bytes",)})."""
    needs = Needs(owner, _tuples(required), _tuples(blank), _tuples(optional), _tuples(units))
    REGISTRY[owner] = needs
    return needs


def chart(name, *, blank=None, optional=None, units=None, **required):
    """A decorator: the chart function draws `name` from these columns (see declare)."""
    def register(function):
        function.needs = declare(name, blank=blank, optional=optional, units=units, **required)
        return function
    return register


def of(table):
    """({name: owners} required, blank and optional) of table over every owner, in first-declared
    order; a name one owner requires is required, one that another must have is not optional."""
    all_modules()
    required, blank, optional = {}, {}, {}
    for needs in REGISTRY.values():
        for part, into in ((needs.required, required), (needs.blank, blank), (needs.optional, optional)):
            for name in part.get(table, ()):
                into.setdefault(name, []).append(needs.owner)
    blank = {n: o for n, o in blank.items() if n not in required}
    optional = {n: o for n, o in optional.items() if n not in required and n not in blank}
    return required, blank, optional


def all_modules():
    """Import every module that declares needs (none imports matplotlib at import time)."""
    from . import cancel, config, load, memory, numa, qemu, series, stalls, timing  # noqa: F401
    return REGISTRY


def check(schema):
    """(number of distinct (table, column) names declared, lines naming each one not in the schema or
    not in a unit its reader can draw)."""
    all_modules()
    seen, missing = {}, []
    for needs in REGISTRY.values():
        for table, name in needs.names():
            seen.setdefault((table, name), needs.owner)
            if table in schema.tables and name in schema[table] and name in needs.units \
                    and schema[table].unit(name) not in needs.units[name]:
                missing.append(f"{needs.owner}: column {name} of the {table} table is in {schema[table].unit(name)}, "
                               f"not {' or '.join(needs.units[name])}")
    for (table, name), owner in seen.items():
        if table not in schema.tables:
            missing.append(f"{owner}: table {table} is not in {schema.path.name}")
        elif name not in schema[table]:
            missing.append(f"{owner}: column {name} is not in {schema.path.name}'s {table} table")
    return len(seen), missing
