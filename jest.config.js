/** @type {import('jest').Config} */
const swc = [
  "@swc/jest",
  {
    jsc: {
      parser: { syntax: "typescript", decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: "es2022",
    },
    module: { type: "commonjs" },
  },
];

module.exports = {
  rootDir: __dirname,
  testEnvironment: "node",
  transform: { "^.+\\.ts$": swc },
  moduleFileExtensions: ["ts", "js", "json"],
  testMatch: ["**/*.test.ts"],
  testPathIgnorePatterns: ["/node_modules/", "/\\.data/"],
  modulePathIgnorePatterns: ["<rootDir>/\\.data/"],
  watchPathIgnorePatterns: ["<rootDir>/\\.data/"],
  // one throwaway Postgres + Redis + SMTP sink for the whole run (TEST_INFRA=none skips it)
  globalSetup: "<rootDir>/testing/global-setup.ts",
  globalTeardown: "<rootDir>/testing/global-teardown.ts",
  maxWorkers: 2,
  testTimeout: 30_000,
  // a test that leaves a socket open must not hang CI for its 90 minutes; teardown has run by then
  forceExit: true,
  // jest's default output and summary, then a last line `N passed, N failed`
  reporters: ["default", "<rootDir>/testing/summary-reporter.js"],
};
