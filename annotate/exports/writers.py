"""Row sinks: JSON lines (optionally gzip) and Parquet, each holding one batch at most, so an
export's memory stays flat at any size. pyarrow is imported only by the Parquet sink."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

PARQUET_BATCH_ROWS = 1000


class JSONLinesSink:
    def __init__(self, path: Path, *, compress: bool) -> None:
        self.rows = 0
        self._file: IO[str] = (
            # The sink owns the file for the whole export; close() closes it.
            gzip.open(path, "wt", encoding="utf-8") if compress else path.open("w", encoding="utf-8")  # noqa: SIM115
        )

    def write(self, record: dict) -> None:
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.rows += 1

    def close(self) -> None:
        self._file.close()


class ParquetSink:
    """Rows buffered up to ``batch_rows`` and written as one row group of ``schema``."""

    def __init__(self, path: Path, *, schema: pa.Schema, batch_rows: int = PARQUET_BATCH_ROWS) -> None:
        import pyarrow.parquet as pq

        self.rows = 0
        self._schema = schema
        self._batch: list[dict] = []
        self._batch_rows = batch_rows
        self._writer = pq.ParquetWriter(str(path), schema, compression="zstd")

    def write(self, record: dict) -> None:
        self._batch.append(record)
        self.rows += 1
        if len(self._batch) >= self._batch_rows:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if self._batch:
            self._writer.write_table(pa.Table.from_pylist(self._batch, schema=self._schema))
            self._batch = []

    def close(self) -> None:
        self._flush()
        self._writer.close()
