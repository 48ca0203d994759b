"use strict";
const fs = require("node:fs");
/**
 * Prints one line exactly `N passed, N failed` (tests, not suites) as the very last line of a run,
 * after jest's own default reporter and summary (use it next to 'default'). Jest runs its summary
 * after the configured reporters, so the line is written when the process exits.
 * A suite that could not run at all (syntax error, failing beforeAll…) counts as one failed test,
 * so the line never says "0 failed" when the run failed.
 */
class PassedFailedReporter {
  onRunComplete(_contexts, results) {
    const passed = results.numPassedTests;
    let failed = results.numFailedTests;
    for (const suite of results.testResults) {
      const ranFailed = suite.testResults.some((t) => t.status === "failed");
      if ((suite.testExecError || suite.failureMessage) && !ranFailed) failed += 1;
    }
    // Written at exit so it follows jest's summary and its "Force exiting" notice. With forceExit,
    // jest's exit helper replaces process.stdout.write with a no-op once it has drained the streams,
    // so write to the file descriptor directly (synchronous for pipes and files on Linux).
    process.once("exit", () => fs.writeSync(1, `${passed} passed, ${failed} failed\n`));
  }

  getLastError() {
    return undefined;
  }
}

module.exports = PassedFailedReporter;
