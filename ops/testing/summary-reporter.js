'use strict';
/**
 * Jest reporter = jest's own default reporter + its summary, then one line exactly
 * `N passed, N failed` (tests, not suites), last. Jest always appends its SummaryReporter after the
 * configured ones, so this module wraps both itself (use it instead of 'default', not next to it).
 * A suite that could not run at all (syntax error, failing beforeAll…) counts as one failed test,
 * so the line never says "0 failed" when the run failed.
 */
const { DefaultReporter, VerboseReporter, SummaryReporter } = require('@jest/reporters');

const HOOKS = [
  'onRunStart',
  'onTestFileStart',
  'onTestStart',
  'onTestCaseStart',
  'onTestCaseResult',
  'onTestFileResult',
  'onTestResult',
];

class PassedFailedReporter {
  constructor(globalConfig, options = {}) {
    const Main = globalConfig.verbose ? VerboseReporter : DefaultReporter;
    this.inner = [new Main(globalConfig), new SummaryReporter(globalConfig, options)];
    for (const hook of HOOKS) {
      this[hook] = async (...args) => {
        for (const r of this.inner) if (typeof r[hook] === 'function') await r[hook](...args);
      };
    }
  }

  async onRunComplete(contexts, results) {
    for (const r of this.inner) if (typeof r.onRunComplete === 'function') await r.onRunComplete(contexts, results);
    const passed = results.numPassedTests;
    let failed = results.numFailedTests;
    for (const suite of results.testResults) {
      const ranFailed = suite.testResults.some((t) => t.status === 'failed');
      if ((suite.testExecError || suite.failureMessage) && !ranFailed) failed += 1;
    }
    process.stdout.write(`${passed} passed, ${failed} failed\n`);
  }

  getLastError() {
    for (const r of this.inner) {
      const err = typeof r.getLastError === 'function' ? r.getLastError() : undefined;
      if (err) return err;
    }
    return undefined;
  }
}

module.exports = PassedFailedReporter;
