"""The store's format: activation tables (schema, writer, reader), friendly Parquet errors, run
folders and their summaries, the partitioned copy, the format version. The lowest layer."""
