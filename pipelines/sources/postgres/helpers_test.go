package postgres_test

import "crmwh/warehouse/duckdb"

func duckdbFormat(v any) string { return duckdb.FormatValue(v) }
