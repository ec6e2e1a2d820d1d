"""The 30 checks of bench_checks.py as Great Expectations 1.x expectations, validated once with its
default result format (a few unexpected values of each failed expectation included).

Run by bench_checks.py with the Python of its own virtualenv (/work/benchdata/venv-gx), never
dsa's: `python gx_checks.py SPEC_JSON` (connection URL and the columns of each kind).
"""
import json
import sys

import great_expectations as gx
import great_expectations.expectations as gxe

spec = json.loads(sys.argv[1])
context = gx.get_context(mode="ephemeral")
source = context.data_sources.add_postgres(name="bench", connection_string=spec["url"])
batch = source.add_table_asset(name="lineitem", table_name="lineitem").add_batch_definition_whole_table("all")
suite = context.suites.add(gx.ExpectationSuite(name="lineitem"))
suite.add_expectation(gxe.ExpectTableRowCountToBeBetween(min_value=1))
for c in spec["not_null"]:
    suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=c))
for c in spec["unique"]:
    suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column=c))
for c, (low, high) in spec["bounds"].items():
    suite.add_expectation(gxe.ExpectColumnMinToBeBetween(column=c, min_value=low))
    suite.add_expectation(gxe.ExpectColumnMaxToBeBetween(column=c, max_value=high))
for c, (low, high) in spec["dates"].items():
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column=c, min_value=low, max_value=high))
assert len(suite.expectations) == 30
run = context.validation_definitions.add(gx.ValidationDefinition(name="lineitem", data=batch, suite=suite)).run()
failed = [r.expectation_config.type for r in run.results if not r.success]
print(json.dumps({"success": run.success, "failed": failed}))
