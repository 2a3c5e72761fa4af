// The official Kusto parser as a line server (tests/kusto/kusto_check.py starts it).
//
//   node kusto_server.js PARSER_DIR SCHEMA_JSON
//
// PARSER_DIR holds node_modules/@kusto/language-service-next (npm). SCHEMA_JSON is
// {"tables": [{"name": ..., "columns": [[name, kusto type], ...]}, ...]}: one database symbol is
// built from it once. Then every stdin line {"id", "query"} is answered by one stdout line
// {"id", "errors": [{"code", "message", "start", "length"}]}: the Error-severity diagnostics of
// KustoCode.ParseAndAnalyze (syntax, unknown tables/columns/functions, type errors). A line that
// cannot be read is answered {"id": null, "crash": message}; the server never exits on one.
'use strict';
global.window = global; // the Bridge.NET runtime looks for a browser global
const [, , dir, schemaPath] = process.argv;
const pkg = dir + '/node_modules/@kusto/language-service-next/';
require(pkg + 'bridge.min.js');
require(pkg + 'Kusto.Language.Bridge.min.js');
const K = global.Kusto.Language;
const fs = require('fs');
const readline = require('readline');

const schema = JSON.parse(fs.readFileSync(schemaPath, 'utf8'));
// ['name'] quotes any column name (spaces, dots, keywords) in the schema string.
const quote = c => "['" + c.replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "']";
const tables = schema.tables.map(t => new K.Symbols.TableSymbol.$ctor7(
  t.name, '(' + t.columns.map(([c, ty]) => quote(c) + ':' + ty).join(', ') + ')', null));
const globals = K.GlobalState.Default.WithDatabase(
  new K.Symbols.DatabaseSymbol.$ctor2('la', null, tables));

function check(query) {
  const d = K.KustoCode.ParseAndAnalyze(query, globals).GetDiagnostics();
  const errors = [];
  for (let i = 0; i < d.Count; i++) {
    const x = d.getItem(i);
    if (x.Severity === 'Error') {
      errors.push({code: x.Code, message: x.Message, start: x.Start, length: x.Length});
    }
  }
  return errors;
}

const write = obj => process.stdout.write(JSON.stringify(obj) + '\n');
write({ready: true, tables: tables.length, parser: require(pkg + 'package.json').version});
readline.createInterface({input: process.stdin, crlfDelay: Infinity}).on('line', line => {
  let id = null;
  try {
    const req = JSON.parse(line);
    id = req.id;
    write({id, errors: check(String(req.query))});
  } catch (e) {
    write({id, crash: String(e && e.stack || e).slice(0, 2000)});
  }
});
