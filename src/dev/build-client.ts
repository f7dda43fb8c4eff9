import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { BUILT_CLIENT_DIR, bundleClient } from "../http/client-bundle.js";

/** `npm run build`: writes the report page's script to dist/public/ and prints its size. */
const files = await bundleClient();
await mkdir(BUILT_CLIENT_DIR, { recursive: true });
await writeFile(path.join(BUILT_CLIENT_DIR, "app.js"), files.script);
await writeFile(path.join(BUILT_CLIENT_DIR, "app.js.map"), files.map);
const kb = (n: number) => (n / 1024).toFixed(1);
console.log(
  `dist/public/app.js: ${kb(Buffer.byteLength(files.script))} KB, ${kb(gzipSync(files.script).length)} KB gzipped`,
);
