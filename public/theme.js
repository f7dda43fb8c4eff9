// Light or dark before first paint: ?theme=, else the browser's preference. Inside
// Confluence, AP.theming (once all.js has loaded) applies the user's Confluence theme.
(() => {
  const param = new URLSearchParams(location.search).get("theme");
  const dark = param ? param === "dark" : matchMedia("(prefers-color-scheme: dark)").matches;
  document.documentElement.dataset.colorMode = dark ? "dark" : "light";
})();
