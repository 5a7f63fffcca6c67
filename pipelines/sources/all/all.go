// Package all registers every source kind; import it for its side effects.
package all

import (
	_ "crmwh/pipelines/sources/csvfile"     // csv
	_ "crmwh/pipelines/sources/jsonl"       // jsonl
	_ "crmwh/pipelines/sources/parquetfile" // parquet
	_ "crmwh/pipelines/sources/postgres"    // postgres
	_ "crmwh/pipelines/sources/sqlite"      // sqlite
)
