// The published warehouse as a JavaScript dashboard reads it: @duckdb/node-api 1.4, the DuckDB
// Evidence's connector bundles. Prints one JSON object: the reader's version, the views it
// sees, and each month's pool as the JSON a chart would receive.
//   node tests/pipelines/node_reader.mjs <warehouse.duckdb>
import { DuckDBInstance } from '@duckdb/node-api';

const instance = await DuckDBInstance.create(process.argv[2], { access_mode: 'READ_ONLY' });
const con = await instance.connect();
const one = async (sql) => (await con.runAndReadAll(sql)).getRows()[0][0];
const months = await con.runAndReadAll(
  'select month, month_start, allocated_dreybits from months ' +
  'where allocated_dreybits is not null order by month');
console.log(JSON.stringify({
  version: await one('select version()'),
  views: await one("select count(*)::INTEGER from duckdb_views() where not internal and schema_name = 'main'"),
  months: months.getRowObjectsJson(),
}));
