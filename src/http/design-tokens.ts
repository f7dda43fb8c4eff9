/**
 * Atlassian design tokens (light and dark) as one stylesheet. @atlaskit/tokens ships each
 * theme as a JS module exporting its CSS; the themes apply through attributes on <html>
 * (data-color-mode, data-theme), which the page sets from Confluence's theme or the browser's.
 * https://atlassian.design/components/tokens
 */
export async function designTokensCss(): Promise<string> {
  const [light, dark] = await Promise.all([
    import("@atlaskit/tokens/dist/esm/artifacts/themes/atlassian-light.js"),
    import("@atlaskit/tokens/dist/esm/artifacts/themes/atlassian-dark.js"),
  ]);
  return `${String(light.default)}\n${String(dark.default)}`;
}
