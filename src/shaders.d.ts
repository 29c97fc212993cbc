// WGSL files are imported as their source text (vite.config.ts and scripts/build-cli.mjs).
declare module '*.wgsl' {
  const source: string;
  export default source;
}
