// Jest transformer: compiles an ES module from node_modules to CommonJS with esbuild.
//
// mppx ships ES modules only. Node 20.19+ loads them with require() natively, so the built
// apps need nothing; but Jest runs every file through its own module loader, which can
// require() an ES module only on Node 24.9+. On older Node, jest.config.js sends mppx's files
// here (see `transformIgnorePatterns` there).
const { createHash } = require('node:crypto');
const esbuild = require('esbuild');

module.exports = {
  process(source, filename) {
    const { code, map } = esbuild.transformSync(source, {
      format: 'cjs',
      loader: 'js',
      target: 'node20',
      sourcefile: filename,
      sourcemap: 'external',
    });
    return { code, map };
  },
  getCacheKey(source, filename) {
    return createHash('sha256')
      .update(esbuild.version)
      .update('\0')
      .update(filename)
      .update('\0')
      .update(source)
      .digest('hex');
  },
};
