// Copies non-TypeScript files that the built apps load at run time (the gRPC proto).
const { cpSync } = require('node:fs');
const { join } = require('node:path');
const root = join(__dirname, '..');
cpSync(join(root, 'libs/contracts/proto'), join(root, 'dist/libs/contracts/proto'), {
  recursive: true,
});
