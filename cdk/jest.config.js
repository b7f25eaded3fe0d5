/** Unit tests: ts-jest without type checking (`npm run build` = `tsc --noEmit` does that), Node environment. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { isolatedModules: true, diagnostics: false }],
  },
  // Synthesizing CDK apps is CPU-bound; two workers fit the 2-core CI machines.
  maxWorkers: 2,
  testTimeout: 60000,
};
