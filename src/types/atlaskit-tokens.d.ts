// The theme modules of @atlaskit/tokens export their CSS as a string.
declare module "@atlaskit/tokens/dist/esm/artifacts/themes/atlassian-light.js" {
  const css: string;
  export default css;
}
declare module "@atlaskit/tokens/dist/esm/artifacts/themes/atlassian-dark.js" {
  const css: string;
  export default css;
}
