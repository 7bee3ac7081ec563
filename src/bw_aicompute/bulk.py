"""Bulk inserts of the rows bw2data writes for a database that bw_aicompute owns.

bw2data's `Database.write` inserts the activities, the exchanges and the rows of the search
index with peewee's `Model.insert_many`, 100 to 125 rows at a time. For each batch peewee builds
one SQL statement holding every value as its own parameter node: at 10,000 phases that is most
of a campaign's rewrite (4 s of 7 s under a profiler). Inside `bulk_inserts()` the three models'
`insert_many` give one parameterised statement per batch to sqlite3's `executemany` instead.
The rows, their order and their conversion are peewee's: each value goes through its field's
`db_value` (the same pickles of `data`), in bw2data's own transaction. Everything else of the
write (deleting the old rows, the typo checks, ids, processing) is bw2data's own code.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class _Insert:
    """One batch of rows of a peewee model, run with `executemany` (`bulk_inserts`)."""

    def __init__(self, model, rows, fallback):
        self.model, self.rows, self.fallback = model, list(rows), fallback

    def execute(self) -> None:
        """Insert the rows; rows of different keys, or a model with column defaults, go through
        peewee's own `insert_many`."""
        if not self.rows:
            return
        names = list(self.rows[0])
        meta = self.model._meta
        if meta.defaults or any(list(r) != names for r in self.rows) or any(n not in meta.fields for n in names):
            self.fallback(self.rows).execute()
            return
        fields = [meta.fields[n] for n in names]
        columns = ", ".join(f'"{f.column_name}"' for f in fields)
        sql = f'INSERT INTO "{meta.table_name}" ({columns}) VALUES ({", ".join("?" * len(fields))})'
        values = [tuple(f.db_value(r[n]) for f, n in zip(fields, names)) for r in self.rows]
        db = meta.database
        if db.connection().in_transaction:  # bw2data's write: one transaction for all batches
            db.cursor().executemany(sql, values)
        else:
            with db.atomic():  # the search index: one transaction per batch, as peewee's statement
                db.cursor().executemany(sql, values)


@contextmanager
def bulk_inserts() -> Iterator[None]:
    """Within the `with`, bw2data's activities, exchanges and search rows are inserted with
    `executemany` (see the module's docstring); peewee's `insert_many` is back afterwards,
    also after an error."""
    from bw2data.backends import ActivityDataset, ExchangeDataset
    from bw2data.search.schema import BW2Schema

    models = (ActivityDataset, ExchangeDataset, BW2Schema)
    saved = {m: m.__dict__.get("insert_many") for m in models}
    try:
        for m in models:
            fallback = m.insert_many
            m.insert_many = classmethod(lambda cls, rows, fields=None, _f=fallback: _Insert(cls, rows, _f) if fields is None else _f(rows, fields))
        yield
    finally:
        for m, before in saved.items():
            if before is None:
                del m.insert_many
            else:
                m.insert_many = before
