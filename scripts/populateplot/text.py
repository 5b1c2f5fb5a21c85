"""Numbers as text for titles, labels and ticks; a column's axis scale from its unit in the schema."""


def size(n):
    """Bytes as the largest binary unit that divides them: '1 GiB', '2 MiB', '4 KiB'."""
    for shift, unit in ((30, "GiB"), (20, "MiB"), (10, "KiB")):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n} B"


def percent(fraction):
    return f"{fraction * 100:g}%"


def byte_unit(largest):
    """(divisor, name) of KiB, MiB or GiB for axis values up to largest bytes."""
    for divisor, name in ((1 << 30, "GiB"), (1 << 20, "MiB")):
        if largest >= divisor:
            return divisor, name
    return (1 << 10, "KiB") if largest > 0 else (1 << 20, "MiB")


def human(n):
    """Bytes for a label, in the unit of their own magnitude: '4 KiB', '1.5 MiB', '225 MiB'."""
    if n == 0:
        return "0"
    divisor, unit = byte_unit(abs(n))
    value = n / divisor
    return f"{value:.0f} {unit}" if abs(value) >= 100 else f"{value:.3g} {unit}"


def duration(seconds, _=None):
    """A log-axis tick: '0.1 s', '10 ms', '0.1 ms', '10 µs'."""
    seconds = float(f"{seconds:.6g}")  # a tick at 10**-1 may arrive as 0.09999…
    if seconds >= 0.1:
        return f"{seconds:g} s"
    if seconds >= 1e-4:
        return f"{seconds * 1e3:g} ms"
    return f"{seconds * 1e6:g} µs"


def count(value, _=None):
    """A page-count tick: '64', '50k', '1.5M'."""
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:g}{suffix}"
    return f"{value:g}"


def scale(table, column, largest=0):
    """(divisor, unit name) to draw column of table (a schema Table) on a linear axis whose values go
    up to largest: bytes in KiB, MiB or GiB by magnitude, the other units as they are written."""
    unit = table.unit(column)
    if unit == "bytes":
        return byte_unit(largest)
    if unit == "fraction":
        return 0.01, "%"
    return 1, {"seconds": "seconds", "microseconds": "µs", "count": "", "text": ""}.get(unit, unit)


def value(table, column, v):
    """A value of column as its unit reads: '2 MiB', '50%', '1 ms', '4'."""
    if v is None or v == "":
        return ""
    unit = table.unit(column)
    if unit == "bytes" and isinstance(v, int):
        return size(v)
    if unit == "fraction":
        return percent(v)
    if unit in ("seconds", "microseconds"):
        return duration(v if unit == "seconds" else v / 1e6)
    return f"{v:g}" if isinstance(v, float) else str(v)
