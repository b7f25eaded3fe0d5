/** Unit tests: ts-jest in transpile mode (tsconfig isolatedModules), no type checking (`npm run build` = `tsc --noEmit` does that), Node environment. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
  },
  // Synthesizing CDK apps is CPU-bound; two workers fit the 2-core CI machines.
  maxWorkers: 2,
  // Removes the temporary cloud assemblies of the test Apps.
  setupFilesAfterEnv: ['aws-cdk-lib/testhelpers/jest-autoclean'],
  testTimeout: 60000,
};
