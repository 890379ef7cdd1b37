// Types for the @x402/core subpath entry points (`@x402/core/http`, `/schemas`).
//
// @x402/core publishes its subpaths only through package.json `exports`, which TypeScript reads
// under moduleResolution node16/nodenext/bundler but not under this repository's `node` (node10)
// setting. At run time Node and Jest both honour `exports` and load the CommonJS builds named
// here, so these declarations only point the type checker at the same files. Drop this file
// when the repository moves to moduleResolution node16 or later.
declare module '@x402/core/http' {
  export * from '@x402/core/dist/cjs/http/index';
}

declare module '@x402/core/schemas' {
  export * from '@x402/core/dist/cjs/schemas/index';
}

declare module '@x402/core/types' {
  export * from '@x402/core/dist/cjs/types/index';
}
