"""A trial's configuration (the identity columns the summary groups repetitions by, from the schema),
its titles, and the grouping the charts share. Nothing here imports matplotlib."""

import statistics
import textwrap
from collections import Counter, defaultdict, namedtuple

from . import needs, text
from . import schema as schemas

# The harness's own order of backends and strategies, from its declarations (docs/columns.json): no
# list here to fall behind. An unreadable schema leaves them empty; the command reports it on load.
try:
    _DECLARED = schemas.load()
except schemas.SchemaError:
    _DECLARED = schemas.Schema({}, schemas.PATH)
BACKENDS = _DECLARED.backends
STRATEGIES = _DECLARED.strategies
MAX_PANELS = 12

# Identity columns that are not the configuration: where() names the host and kernel, the charts put
# strategies on an axis and pick phases.
NOT_CONFIG = ("host", "kernel", "strategy", "phase")
# How configuration columns read in titles, in this order; any other identity column of the schema
# reads name=value (in its unit) when it has a value.
LABELS = {
    "region_bytes": text.size,
    "page_bytes": lambda v: f"{text.size(v)} pages",
    "block_bytes": lambda v: f"block {text.size(v)}",
    "plugged_fraction": lambda v: f"{text.percent(v)} plugged",
    "resident_fraction": lambda v: f"{text.percent(v)} resident",
    "layout": lambda v: f"{v} layout",
    "thp": lambda v: f"thp={v}",
}
# The NUMA settings, one title part when not the default (local policy, no pinning).
NUMA = {"numa_policy": "numa", "guest_node": "guest-node", "populate_node": "populate-node"}
# text.size needs whole bytes, text.percent a fraction
UNITS = {"region_bytes": ("bytes",), "page_bytes": ("bytes",), "block_bytes": ("bytes",),
         "plugged_fraction": ("fraction",), "resident_fraction": ("fraction",)}
NEEDS = needs.declare("config", raw=NOT_CONFIG + ("backend",) + tuple(LABELS), optional={"raw": tuple(NUMA)},
                      units=UNITS)


def config_type(schema):
    """The Config namedtuple of schema: its fields are the configuration's columns in schema order,
    a field left None where a chart puts that column on an axis (e.g. plugged_fraction)."""
    raw = schema["raw"]
    fields = [c for c in schema.configuration() if c not in NOT_CONFIG]
    base = namedtuple("ConfigFields", fields)
    return type("Config", (base,), {"__slots__": (), "table": raw})


def config_of(kind, row):
    """row's Config (kind from config_type); a column the CSV lacks is None."""
    return kind(*(row.get(c) for c in kind._fields))


def config_parts(config):
    """{part: text} describing a config, without its backend; a field set to None is left out."""
    parts = {c: label(getattr(config, c)) for c, label in LABELS.items() if getattr(config, c) is not None}
    policy = getattr(config, "numa_policy", None)
    numa = [f"numa={policy}"] if policy not in (None, "", "local") else []
    numa += [f"{name}={getattr(config, c)}" for c, name in NUMA.items()
             if c != "numa_policy" and getattr(config, c, None) not in (None, "")]
    if numa:
        parts["numa"] = " ".join(numa)
    for column in config._fields:
        if column not in LABELS and column not in NUMA and column != "backend":
            value = text.value(config.table, column, getattr(config, column))
            if value:
                parts[column] = f"{column}={value}"
    return parts


def titles(what, rows, configs, note=None):
    """The figure title (what, host and kernel, the config every panel shares, note) and a title per
    panel (its backend and what differs between panels)."""
    parts = [config_parts(c) for c in configs]
    common = {k: v for k, v in parts[0].items() if all(p.get(k) == v for p in parts)}
    panels = [textwrap.fill(f"{c.backend}  " + ", ".join(v for k, v in p.items() if k not in common), 50)
              for c, p in zip(configs, parts)]
    return "\n".join(filter(None, [f"{what} — {where(rows)}", ", ".join(common.values()), note])), panels


def where(rows):
    """'host vm, kernel 6.18…' (every distinct pair, joined)."""
    pairs = sorted({(r["host"], r["kernel"]) for r in rows})
    return "; ".join(f"host {h}, kernel {k}" for h, k in pairs)


def repetitions_note(groups):
    """'medians of 3 repetitions' over groups of rows (one group per bar or point)."""
    counts = sorted({len({r["repetition"] for r in g}) for g in groups})
    span = str(counts[0]) if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
    return f"medians of {span} repetition{'s' if counts[-1] > 1 else ''}"


def rank(order, name):
    return (order.index(name), name) if name in order else (len(order), name)


def config_key(config):
    """Backends in BACKENDS order, then the other fields (None and blank first)."""
    rest = tuple((v is not None and v != "", v if v is not None else "") for k, v in config._asdict().items()
                 if k != "backend")
    return (rank(BACKENDS, config.backend), rest)


def group(rows, key):
    groups = defaultdict(list)
    for r in rows:
        groups[key(r)].append(r)
    return groups


def median(rows, column):
    """The median of column over rows, blanks left out; 0 without values."""
    values = [r[column] for r in rows if r[column] is not None]
    return statistics.median(values) if values else 0


def panels_of(rows):
    """[(config, rows)] in backend order: every config, or the most common one per backend past MAX_PANELS."""
    by_config = group(rows, lambda r: r["config"])
    configs = sorted(by_config, key=config_key)
    if len(configs) > MAX_PANELS:
        counts = Counter(r["config"] for r in rows)
        best = {}
        for config in by_config:  # file order, so ties go to the first seen
            current = best.get(config.backend)
            if current is None or counts[config] > counts[current]:
                best[config.backend] = config
        configs = sorted(best.values(), key=config_key)
        print(f"note: {len(by_config)} configurations are too many panels; memory, times and numa show "
              f"the most common one per backend ({len(by_config) - len(configs)} left out)")
    return [(c, by_config[c]) for c in configs]


def strategies_of(rows):
    return sorted({r["strategy"] for r in rows}, key=lambda s: rank(STRATEGIES, s))
