"""populateplot: the charts of scripts/plot.py, one function per chart, reading the harness's CSVs
through their schema, docs/columns.json (made from the Swift column registry by
`bench columns --update-docs docs`).

- schema.py  loads docs/columns.json (found from this package's path)
- needs.py   the columns each chart and loader declares; --check-schema checks them
- load.py    reads a CSV, checks its header against its table, converts values by unit
- config.py  a trial's configuration (the summary's identity columns), titles, grouping
- text.py    numbers as text; axis scales from units
- figures.py matplotlib (imported only when drawing) and the shared layout
- memory.py, timing.py, series.py, stalls.py, numa.py, qemu.py  the charts
- cli.py     the command line of scripts/plot.py
"""
