// duckdb-query.mjs -- run SQL over a bucket in place, with DuckDB (npm @duckdb/node-api).
// usage: node duckdb-query.mjs BUCKETDIR SQL   (the view "flows" is the bucket)
// Copied next to node_modules by the tests, so that the import resolves.
import { DuckDBInstance } from '@duckdb/node-api';

const [dir, sql] = process.argv.slice(2);
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
await c.run(`CREATE VIEW flows AS SELECT * FROM read_csv('${dir}/**/*.csv.gz',
    hive_partitioning = true, header = true)`);
const r = await c.runAndReadAll(sql);
for (const row of r.getRows())
	console.log(row.map(String).join(','));
